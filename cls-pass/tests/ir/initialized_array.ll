; An initialised array goes to .cls.data with its initializer and alignment; a
; constant GEP into it becomes an instruction on the per-cVM address.

; CHECK: @table = global [4 x i32] [i32 1, i32 2, i32 3, i32 4], section ".cls.data", align 16
@table = global [4 x i32] [i32 1, i32 2, i32 3, i32 4], align 16

; CHECK-LABEL: define i32 @third()
; CHECK-NEXT:    %table.cls.raw = call i8* @__cls_get_addr(i8* bitcast ([4 x i32]* @table to i8*))
; CHECK-NEXT:    %table.cls = bitcast i8* %table.cls.raw to [4 x i32]*
; CHECK-NEXT:    [[P:%[0-9]+]] = getelementptr inbounds [4 x i32], [4 x i32]* %table.cls, i64 0, i64 2
; CHECK-NEXT:    %v = load i32, i32* [[P]], align 8
; CHECK-NEXT:    ret i32 %v
define i32 @third() {
  %v = load i32, i32* getelementptr inbounds ([4 x i32], [4 x i32]* @table, i64 0, i64 2), align 8
  ret i32 %v
}

; CHECK-LABEL: define i32 @indexed(i64 %i)
; CHECK:         %p = getelementptr [4 x i32], [4 x i32]* %table.cls, i64 0, i64 %i
define i32 @indexed(i64 %i) {
  %p = getelementptr [4 x i32], [4 x i32]* @table, i64 0, i64 %i
  %v = load i32, i32* %p
  ret i32 %v
}
