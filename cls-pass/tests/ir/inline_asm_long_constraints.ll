; An inline-asm value whose printed form is longer than a message's cut (a system call
; with six arguments in fixed registers) is still read whole: the global's operands take
; the per-cVM address, where the pass used to refuse them with constraint `?`.

@word = internal global i32 0

; CHECK-LABEL: define i64 @raw()
; CHECK:         %word.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @word to i8*))
; CHECK:         call i64 asm sideeffect "syscall", "={ax},{ax},{di},{si},{dx},{r10},{r8},{r9},~{rcx},~{r11},~{memory},~{dirflag},~{fpsr},~{flags}"(i64 202, i64 %{{[0-9]+}}, i64 132, i64 1, i64 1, i64 %{{[0-9]+}}, i64 0)
define i64 @raw() {
  %1 = call i64 asm sideeffect "syscall", "={ax},{ax},{di},{si},{dx},{r10},{r8},{r9},~{rcx},~{r11},~{memory},~{dirflag},~{fpsr},~{flags}"(i64 202, i64 ptrtoint (i32* @word to i64), i64 132, i64 1, i64 1, i64 ptrtoint (i32* @word to i64), i64 0)
  ret i64 %1
}
