; An alias whose aliasee is arithmetic on a CLS address, not an address inside it, is
; refused.
; EXPECT-FAILURE

@base = global [2 x i64] zeroinitializer
@odd = alias i64, inttoptr (i64 add (i64 ptrtoint ([2 x i64]* @base to i64), i64 3) to i64*)

; CHECK: cls-pass: error: alias `odd` of CLS global `base` is `{{.*}}`, which is not an address inside the global; cls-pass cannot rewrite it: alias the global itself or a field of it
define i64 @get() {
  %v = load i64, i64* @odd
  ret i64 %v
}
