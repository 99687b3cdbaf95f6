; Every problem of a module is reported in one run, one line each, and the tool exits
; with status 1 through LLVM's fatal-error path (no crash, no stack dump).
; EXPECT-FAILURE

@a = global i32 0, section ".data.mine"
@b = global i32 0

; CHECK-DAG: cls-pass: error: global `a` is writable but has the explicit section `.data.mine`
; CHECK-DAG: cls-pass: error: function `f` uses global `b` in an inline-asm operand with constraint `n`
; CHECK-NOT: Stack dump
define void @f() {
  call void asm sideeffect "# $0", "n"(i32* @b)
  %v = load i32, i32* @a
  ret void
}
