; Constants and aliases the linker may replace by another object's definition (`weak`,
; `linkonce`) are CLS symbols when their type may hold a pointer: musl's fork.c has
; `weak_alias(dummy_lockptr, __atexit_lockptr)` over `static int *const dummy_lockptr = 0;`
; while atexit.c defines `int *const __atexit_lockptr = lock;`, which the pass promotes
; to CLS data. Their uses go through __cls_get_addr; they stay constant and in place,
; unless they point at CLS data themselves (then they are promoted as usual). A
; constant holding the address of such an alias is promoted. `linkonce_odr` constants,
; weak constants without pointers and aliases of functions are left alone.

; CHECK: @dummy_lockptr = internal constant i32* null{{$}}
@dummy_lockptr = internal constant i32* null
; CHECK: @atfork_locks = internal global [1 x i32**] [i32** @__atexit_lockptr], section ".cls.data"
@atfork_locks = internal constant [1 x i32**] [i32** @__atexit_lockptr]
; CHECK: @weak_default = weak constant i8* null{{$}}
@weak_default = weak constant i8* null
@counter = global i32 0
; CHECK: @weak_to_cls = weak global i32* @counter, section ".cls.data"
@weak_to_cls = weak constant i32* @counter
; CHECK: @odr = linkonce_odr constant i8* null{{$}}
@odr = linkonce_odr constant i8* null
; CHECK: @weak_int = weak constant i32 7{{$}}
@weak_int = weak constant i32 7
; Aliases are printed after the variables.
; CHECK: @__atexit_lockptr = weak hidden alias i32*, i32** @dummy_lockptr
@__atexit_lockptr = weak hidden alias i32*, i32** @dummy_lockptr
; CHECK: @weak_entry = weak alias void (), void ()* @entry
@weak_entry = weak alias void (), void ()* @entry

define void @entry() {
  ret void
}

; CHECK-LABEL: define i32 @use()
; CHECK-NEXT:    %__atexit_lockptr.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32** @__atexit_lockptr to i8*))
; CHECK-NEXT:    %__atexit_lockptr.cls = bitcast i8* %__atexit_lockptr.cls.raw to i32**
; CHECK-NEXT:    %atfork_locks.cls.raw = call i8* @__cls_get_addr(i8* bitcast ([1 x i32**]* @atfork_locks to i8*))
; CHECK-NEXT:    %atfork_locks.cls = bitcast i8* %atfork_locks.cls.raw to [1 x i32**]*
; CHECK-NEXT:    %weak_default.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i8** @weak_default to i8*))
; CHECK-NEXT:    %weak_default.cls = bitcast i8* %weak_default.cls.raw to i8**
; CHECK-NEXT:    %weak_to_cls.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32** @weak_to_cls to i8*))
; CHECK-NEXT:    %weak_to_cls.cls = bitcast i8* %weak_to_cls.cls.raw to i32**
; CHECK-NEXT:    %lock = load i32*, i32** %__atexit_lockptr.cls
; CHECK-NEXT:    [[L:%[0-9]+]] = getelementptr inbounds [1 x i32**], [1 x i32**]* %atfork_locks.cls, i64 0, i64 0
; CHECK-NEXT:    %slot = load i32**, i32*** [[L]]
; CHECK-NEXT:    %d = load i8*, i8** %weak_default.cls
; CHECK-NEXT:    %w = load i32*, i32** %weak_to_cls.cls
; CHECK-NEXT:    %o = load i8*, i8** @odr
; CHECK-NEXT:    %i = load i32, i32* @weak_int
; CHECK-NEXT:    call void @weak_entry()
define i32 @use() {
  %lock = load i32*, i32** @__atexit_lockptr
  %slot = load i32**, i32*** getelementptr inbounds ([1 x i32**], [1 x i32**]* @atfork_locks, i64 0, i64 0)
  %d = load i8*, i8** @weak_default
  %w = load i32*, i32** @weak_to_cls
  %o = load i8*, i8** @odr
  %i = load i32, i32* @weak_int
  call void @weak_entry()
  ret i32 %i
}
