; A constant expression the expander does not know (a scalable-vector shufflevector
; splat of a CLS address, whose mask the C API cannot read) is an error naming the
; function, the global and the expression.
; EXPECT-FAILURE

@a = global i32 0

; CHECK: cls-pass: error: function `splat` uses global `a` in constant expression `{{.*}}shufflevector{{.*}}`, which cls-pass cannot turn into instructions; compute the value at run time instead
define void @splat(<vscale x 2 x i64>* %out) {
  store <vscale x 2 x i64> shufflevector (<vscale x 2 x i64> insertelement (<vscale x 2 x i64> undef, i64 ptrtoint (i32* @a to i64), i32 0), <vscale x 2 x i64> undef, <vscale x 2 x i32> zeroinitializer), <vscale x 2 x i64>* %out
  ret void
}
