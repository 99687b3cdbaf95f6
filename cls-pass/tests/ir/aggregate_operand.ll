; A vector or struct constant holding CLS addresses (as the SLP vectoriser makes) is
; rebuilt with insertelement / insertvalue from the per-cVM addresses.

@a = global i64 0
@b = global i64 0

; CHECK-LABEL: define void @both(<2 x i64*>* %out, { i64*, i32 }* %pair)
; CHECK:         [[V0:%[0-9]+]] = insertelement <2 x i64*> undef, i64* %a.cls, i32 0
; CHECK-NEXT:    [[V1:%[0-9]+]] = insertelement <2 x i64*> [[V0]], i64* %b.cls, i32 1
; CHECK-NEXT:    store <2 x i64*> [[V1]], <2 x i64*>* %out
; CHECK-NEXT:    [[S0:%[0-9]+]] = insertvalue { i64*, i32 } undef, i64* %b.cls, 0
; CHECK-NEXT:    [[S1:%[0-9]+]] = insertvalue { i64*, i32 } [[S0]], i32 7, 1
; CHECK-NEXT:    store { i64*, i32 } [[S1]], { i64*, i32 }* %pair
define void @both(<2 x i64*>* %out, { i64*, i32 }* %pair) {
  store <2 x i64*> <i64* @a, i64* @b>, <2 x i64*>* %out
  store { i64*, i32 } { i64* @b, i32 7 }, { i64*, i32 }* %pair
  ret void
}
