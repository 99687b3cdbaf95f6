; A conflicting declaration of __cls_get_addr is refused rather than called wrongly.
; EXPECT-FAILURE

@g = global i32 0
declare i32 @__cls_get_addr(i32)

; CHECK: cls-pass: error: `__cls_get_addr` is declared as `i32 (i32)`, but the CLS ABI needs `void *__cls_get_addr(const void *)`: remove the conflicting declaration
define i32 @get() {
  %v = load i32, i32* @g
  ret i32 %v
}

; The refusal is reported once, not once per function.
; CHECK-NOT: cls-pass: error
define i32 @get_again() {
  %v = load i32, i32* @g
  ret i32 %v
}
