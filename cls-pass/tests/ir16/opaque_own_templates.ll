; The LLVM 16 build on opaque-pointer IR: this module's own templates (internal,
; hidden) share one `__cls_get_addr` call; an interposable definition keeps its own.

@counter = internal global i32 5, align 4
@zeros = hidden global [64 x i8] zeroinitializer, align 16
@interposable = global i32 7, align 4

; CHECK-LABEL: define i32 @touch(i32 %i)
; CHECK-NEXT:    %counter.cls = call ptr @__cls_get_addr(ptr @counter)
; CHECK-NEXT:    %zeros.cls = getelementptr i8, ptr %counter.cls, i64 sub (i64 ptrtoint (ptr @zeros to i64), i64 ptrtoint (ptr @counter to i64))
; CHECK-NEXT:    %interposable.cls = call ptr @__cls_get_addr(ptr @interposable)
; CHECK-NOT:     @__cls_get_addr
; CHECK:         ret i32
define i32 @touch(i32 %i) {
  %c = load i32, ptr @counter
  %c1 = add i32 %c, %i
  store i32 %c1, ptr @counter
  %slot = getelementptr [64 x i8], ptr @zeros, i64 0, i64 3
  store i8 1, ptr %slot
  %p = load i32, ptr @interposable
  %r = add i32 %p, %c1
  ret i32 %r
}
