; A defined, zero-initialised int goes to .cls.bss (alignment kept); its loads and
; stores go through one __cls_get_addr call at the top of the entry block, after the
; allocas.

; CHECK: @counter = global i32 0, section ".cls.bss", align 4
@counter = global i32 0, align 4

; CHECK-LABEL: define i32 @bump(i32 %step)
; CHECK-NEXT:    %slot = alloca i32, align 4
; CHECK-NEXT:    %counter.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @counter to i8*))
; CHECK-NEXT:    %counter.cls = bitcast i8* %counter.cls.raw to i32*
; CHECK-NEXT:    store i32 %step, i32* %slot, align 4
; CHECK-NEXT:    %old = load i32, i32* %counter.cls, align 4
; CHECK-NEXT:    %new = add i32 %old, %step
; CHECK-NEXT:    store i32 %new, i32* %counter.cls, align 4
; CHECK-NEXT:    ret i32 %new
define i32 @bump(i32 %step) {
  %slot = alloca i32, align 4
  store i32 %step, i32* %slot, align 4
  %old = load i32, i32* @counter, align 4
  %new = add i32 %old, %step
  store i32 %new, i32* @counter, align 4
  ret i32 %new
}

; CHECK: declare i8* @__cls_get_addr(i8*) #[[ATTRS:[0-9]+]]
; CHECK: attributes #[[ATTRS]] = { nounwind readnone willreturn }
