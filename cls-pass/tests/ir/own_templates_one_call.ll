; This module's own templates share one `__cls_get_addr` call per function: internal
; and hidden definitions are reached from the first one's per-cVM address by the
; distance between their templates. A default-visibility definition (another object
; may interpose its own), a hidden weak one (the linker may take another translation
; unit's instead) and an external global keep a call each.

@counter = internal global i32 5, align 4
@zeros = internal global [64 x i8] zeroinitializer, align 16
@hidden_total = hidden global i64 9, align 8
@interposable = global i32 7, align 4
@replaceable = weak hidden global i32 3, align 4
@elsewhere = external global i32, align 4

; CHECK-LABEL: define i32 @touch(i32 %i)
; CHECK-NEXT:    %counter.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @counter to i8*))
; CHECK-NEXT:    %counter.cls = bitcast i8* %counter.cls.raw to i32*
; CHECK-NEXT:    %zeros.cls.raw = getelementptr i8, i8* %counter.cls.raw, i64 sub (i64 ptrtoint ([64 x i8]* @zeros to i64), i64 ptrtoint (i32* @counter to i64))
; CHECK-NEXT:    %zeros.cls = bitcast i8* %zeros.cls.raw to [64 x i8]*
; CHECK-NEXT:    %hidden_total.cls.raw = getelementptr i8, i8* %counter.cls.raw, i64 sub (i64 ptrtoint (i64* @hidden_total to i64), i64 ptrtoint (i32* @counter to i64))
; CHECK-NEXT:    %hidden_total.cls = bitcast i8* %hidden_total.cls.raw to i64*
; CHECK-NEXT:    %interposable.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @interposable to i8*))
; CHECK-NEXT:    %interposable.cls = bitcast i8* %interposable.cls.raw to i32*
; CHECK-NEXT:    %replaceable.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @replaceable to i8*))
; CHECK-NEXT:    %replaceable.cls = bitcast i8* %replaceable.cls.raw to i32*
; CHECK-NEXT:    %elsewhere.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @elsewhere to i8*))
; CHECK-NEXT:    %elsewhere.cls = bitcast i8* %elsewhere.cls.raw to i32*
; CHECK-NOT:     @__cls_get_addr
; CHECK:         ret i32
define i32 @touch(i32 %i) {
  %c = load i32, i32* @counter
  %c1 = add i32 %c, %i
  store i32 %c1, i32* @counter
  %slot = getelementptr [64 x i8], [64 x i8]* @zeros, i64 0, i64 3
  store i8 1, i8* %slot
  %t = load i64, i64* @hidden_total
  %t1 = add i64 %t, 1
  store i64 %t1, i64* @hidden_total
  %p = load i32, i32* @interposable
  %w = load i32, i32* @replaceable
  %e = load i32, i32* @elsewhere
  %pw = add i32 %p, %w
  %s = add i32 %pw, %e
  %r = add i32 %s, %c1
  ret i32 %r
}

; A function that uses one own template keeps its one call.
; CHECK-LABEL: define i32 @just_one()
; CHECK-NEXT:    %counter.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @counter to i8*))
define i32 @just_one() {
  %c = load i32, i32* @counter
  ret i32 %c
}
