; The LLVM 16 build reports the same errors: a foreign section and an immediate
; inline-asm operand, in one run.
; EXPECT-FAILURE

@a = global i32 0, section ".data.mine"
@b = global i32 0

; CHECK-DAG: cls-pass: error: global `a` is writable but has the explicit section `.data.mine`
; CHECK-DAG: cls-pass: error: function `f` uses global `b` in an inline-asm operand with constraint `i`
define void @f() {
  call void asm sideeffect "# $0", "i"(ptr @b)
  %v = load i32, ptr @a
  ret void
}
