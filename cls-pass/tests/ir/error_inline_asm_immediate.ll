; An inline-asm operand that needs a link-time constant ("i") cannot take a per-cVM
; address.
; EXPECT-FAILURE

@table = global [4 x i32] zeroinitializer

; CHECK: cls-pass: error: function `uses_immediate` uses global `table` in an inline-asm operand with constraint `i`; {{.*}}pass the address in a register ("r") or as a memory operand ("m") instead
define void @uses_immediate() {
  call void asm sideeffect "leaq $0, %rax", "i,~{rax}"(i32* getelementptr inbounds ([4 x i32], [4 x i32]* @table, i64 0, i64 1))
  ret void
}
