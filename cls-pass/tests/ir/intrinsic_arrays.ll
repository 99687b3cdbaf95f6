; llvm.used, llvm.compiler.used and llvm.global_ctors are LLVM's own arrays: they keep
; plain references to CLS globals and are not CLS data themselves.

; CHECK: @kept = internal global i32 0, section ".cls.bss"
@kept = internal global i32 0
; CHECK: @counted = global i32 1, section ".cls.data"
@counted = global i32 1

; CHECK: @llvm.used = appending global [1 x i8*] [i8* bitcast (i32* @kept to i8*)], section "llvm.metadata"
@llvm.used = appending global [1 x i8*] [i8* bitcast (i32* @kept to i8*)], section "llvm.metadata"
; CHECK: @llvm.compiler.used = appending global [1 x i8*] [i8* bitcast (i32* @counted to i8*)], section "llvm.metadata"
@llvm.compiler.used = appending global [1 x i8*] [i8* bitcast (i32* @counted to i8*)], section "llvm.metadata"
; CHECK: @llvm.global_ctors = appending global [1 x { i32, void ()*, i8* }] [{ i32, void ()*, i8* } { i32 65535, void ()* @init, i8* bitcast (i32* @counted to i8*) }]
@llvm.global_ctors = appending global [1 x { i32, void ()*, i8* }] [{ i32, void ()*, i8* } { i32 65535, void ()* @init, i8* bitcast (i32* @counted to i8*) }]

; CHECK-LABEL: define void @init()
; CHECK-NEXT:    %counted.cls.raw = call i8* @__cls_get_addr(i8* bitcast (i32* @counted to i8*))
; CHECK-NEXT:    %counted.cls = bitcast i8* %counted.cls.raw to i32*
; CHECK-NEXT:    store i32 2, i32* %counted.cls
define void @init() {
  store i32 2, i32* @counted
  ret void
}
