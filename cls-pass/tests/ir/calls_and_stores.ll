; Call arguments (direct and through a constant cast), an address stored into memory
; (and into another CLS global), and a returned address use the per-cVM address.

@counter = global i32 0
@slot = global i32* null

declare void @consume(i32*, i8*)
declare void @llvm.memset.p0i8.i64(i8* nocapture writeonly, i8, i64, i1 immarg)

; CHECK-LABEL: define void @publish(i32** %out)
; CHECK:         %counter.cls = bitcast i8* %counter.cls.raw to i32*
; CHECK:         %slot.cls = bitcast i8* %slot.cls.raw to i32**
; CHECK-NEXT:    [[B:%[0-9]+]] = bitcast i32* %counter.cls to i8*
; CHECK-NEXT:    call void @consume(i32* %counter.cls, i8* [[B]])
; CHECK-NEXT:    [[M:%[0-9]+]] = bitcast i32* %counter.cls to i8*
; CHECK-NEXT:    call void @llvm.memset.p0i8.i64(i8* [[M]], i8 0, i64 4, i1 false)
; CHECK-NEXT:    store i32* %counter.cls, i32** %out
; CHECK-NEXT:    store i32* %counter.cls, i32** %slot.cls
; CHECK-NEXT:    ret void
define void @publish(i32** %out) {
  call void @consume(i32* @counter, i8* bitcast (i32* @counter to i8*))
  call void @llvm.memset.p0i8.i64(i8* bitcast (i32* @counter to i8*), i8 0, i64 4, i1 false)
  store i32* @counter, i32** %out
  store i32* @counter, i32** @slot
  ret void
}

; CHECK-LABEL: define i32* @give()
; CHECK:         ret i32* %counter.cls
define i32* @give() {
  ret i32* @counter
}
