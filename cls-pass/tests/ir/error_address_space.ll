; CLS data outside address space 0 cannot be passed to __cls_get_addr.
; EXPECT-FAILURE

@far = addrspace(1) global i32 0

; CHECK: cls-pass: error: global `far` is in address space 1; `__cls_get_addr` only maps address-space-0 templates
define i32 @get() {
  %v = load i32, i32 addrspace(1)* @far
  ret i32 %v
}
