; Thread-local globals are per thread already: untouched, uses not rewritten.

; CHECK: @per_thread = thread_local global i32 0, align 4
@per_thread = thread_local global i32 0, align 4
; CHECK: @per_thread_init = internal thread_local global i32 5
@per_thread_init = internal thread_local global i32 5

; CHECK-LABEL: define i32 @tls()
; CHECK-NEXT:    %a = load i32, i32* @per_thread
; CHECK-NEXT:    %b = load i32, i32* @per_thread_init
define i32 @tls() {
  %a = load i32, i32* @per_thread
  %b = load i32, i32* @per_thread_init
  %r = add i32 %a, %b
  ret i32 %r
}

; CHECK-NOT: __cls_get_addr
