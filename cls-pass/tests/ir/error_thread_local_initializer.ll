; A thread-local global initialised with the address of CLS data would point every
; thread at the shared template.
; EXPECT-FAILURE

@shared = global i32 0
@cursor = thread_local global i32* @shared

; CHECK: cls-pass: error: thread-local global `cursor` is initialised with the address of CLS global `shared`; {{.*}}assign the address at run time instead
define i32* @get() {
  %p = load i32*, i32** @cursor
  ret i32* %p
}
