; Inline-asm operands that accept a register or memory take the per-cVM address
; (musl's atomics after inlining: "=*m" and "r" operands on a global).

@lock = global i32 0

; CHECK-LABEL: define void @take()
; CHECK:         %lock.cls = bitcast i8* %lock.cls.raw to i32*
; CHECK-NEXT:    call void asm sideeffect "lock ; incl $0", "=*m,~{memory},~{dirflag},~{fpsr},~{flags}"(i32* elementtype(i32) %lock.cls)
; CHECK-NEXT:    call void asm sideeffect "movl $$1, ($0)", "r,~{memory}"(i32* %lock.cls)
define void @take() {
  call void asm sideeffect "lock ; incl $0", "=*m,~{memory},~{dirflag},~{fpsr},~{flags}"(i32* elementtype(i32) @lock)
  call void asm sideeffect "movl $$1, ($0)", "r,~{memory}"(i32* @lock)
  ret void
}
