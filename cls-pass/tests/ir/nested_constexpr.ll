; Nested constant expressions over a CLS global are expanded innermost first, right
; before their user; parts without CLS symbols stay constants.

@buf = global [8 x i8] zeroinitializer, align 8
@other = global i32 0

; CHECK-LABEL: define i64 @nested()
; CHECK-NEXT:    %buf.cls.raw = call i8* @__cls_get_addr(i8* getelementptr inbounds ([8 x i8], [8 x i8]* @buf, i32 0, i32 0))
; CHECK-NEXT:    %buf.cls = bitcast i8* %buf.cls.raw to [8 x i8]*
; CHECK-NEXT:    %other.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @other to i8*))
; CHECK-NEXT:    %other.cls = bitcast i8* %other.cls.raw to i32*
; CHECK-NEXT:    [[G:%[0-9]+]] = getelementptr inbounds [8 x i8], [8 x i8]* %buf.cls, i64 0, i64 3
; CHECK-NEXT:    [[I:%[0-9]+]] = ptrtoint i8* [[G]] to i64
; CHECK-NEXT:    [[A:%[0-9]+]] = add i64 [[I]], 16
; CHECK-NEXT:    %v = add i64 [[A]], 1
; CHECK-NEXT:    [[C:%[0-9]+]] = bitcast [8 x i8]* %buf.cls to i64*
; CHECK-NEXT:    store i64 %v, i64* [[C]]
; CHECK-NEXT:    [[E:%[0-9]+]] = ptrtoint i32* %other.cls to i64
; CHECK-NEXT:    [[F:%[0-9]+]] = add i64 [[E]], 4
; CHECK-NEXT:    [[H:%[0-9]+]] = inttoptr i64 [[F]] to i32*
; CHECK-NEXT:    store i32 1, i32* [[H]]
; CHECK-NEXT:    ret i64 %v
define i64 @nested() {
  %v = add i64 add (i64 ptrtoint (i8* getelementptr ([8 x i8], [8 x i8]* @buf, i64 0, i64 3) to i64), i64 16), 1
  store i64 %v, i64* bitcast ([8 x i8]* @buf to i64*)
  store i32 1, i32* inttoptr (i64 add (i64 ptrtoint (i32* @other to i64), i64 4) to i32*)
  ret i64 %v
}
