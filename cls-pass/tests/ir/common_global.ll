; `common` symbols cannot have a section: they become `weak` zero-initialised
; definitions in .cls.bss, keeping their alignment. A `weak` initialised global keeps
; its linkage and goes to .cls.data.

; CHECK: @tentative = weak global [16 x i64] zeroinitializer, section ".cls.bss", align 32
@tentative = common global [16 x i64] zeroinitializer, align 32
; CHECK: @overridable = weak global i32 3, section ".cls.data", align 4
@overridable = weak global i32 3, align 4

; CHECK-LABEL: define i64 @first()
; CHECK:         %tentative.cls.raw = call i8* @__cls_get_addr(i8* bitcast ([16 x i64]* @tentative to i8*))
; CHECK:         %overridable.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @overridable to i8*))
define i64 @first() {
  %v = load i64, i64* getelementptr ([16 x i64], [16 x i64]* @tentative, i64 0, i64 0)
  %o = load i32, i32* @overridable
  %w = zext i32 %o to i64
  %r = add i64 %v, %w
  ret i64 %r
}
