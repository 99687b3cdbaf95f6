; A writable type-info object used in a landingpad clause cannot be replaced: clauses
; must be constants.
; EXPECT-FAILURE

@writable_typeinfo = global { i8*, i8* } zeroinitializer

declare void @may_throw()
declare i32 @__gxx_personality_v0(...)

; CHECK: cls-pass: error: function `catcher` uses global `writable_typeinfo` in exception-handling clause `{{.*}}landingpad{{.*}}`; clauses must be link-time constants
define void @catcher() personality i32 (...)* @__gxx_personality_v0 {
entry:
  invoke void @may_throw() to label %done unwind label %pad
pad:
  %lp = landingpad { i8*, i32 } catch i8* bitcast ({ i8*, i8* }* @writable_typeinfo to i8*)
  ret void
done:
  ret void
}
