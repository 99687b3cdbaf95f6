; select and icmp operands, select/icmp constant expressions and ptrtoint all take the
; per-cVM address.

@a = global i32 0
@b = global i32 0

; CHECK-LABEL: define i32* @pick(i1 %c)
; CHECK:         %r = select i1 %c, i32* %a.cls, i32* %b.cls
define i32* @pick(i1 %c) {
  %r = select i1 %c, i32* @a, i32* @b
  ret i32* %r
}

; CHECK-LABEL: define i1 @same(i32* %p)
; CHECK:         %e = icmp eq i32* %p, %a.cls
define i1 @same(i32* %p) {
  %e = icmp eq i32* %p, @a
  ret i1 %e
}

; CHECK-LABEL: define i64 @address()
; CHECK:         %i = ptrtoint i32* %b.cls to i64
define i64 @address() {
  %i = ptrtoint i32* @b to i64
  ret i64 %i
}

; CHECK-LABEL: define i32* @constant_select()
; CHECK:         [[C:%[0-9]+]] = icmp ult i32* %a.cls, %b.cls
; CHECK-NEXT:    [[S:%[0-9]+]] = select i1 [[C]], i32* %a.cls, i32* %b.cls
; CHECK-NEXT:    ret i32* [[S]]
define i32* @constant_select() {
  ret i32* select (i1 icmp ult (i32* @a, i32* @b), i32* @a, i32* @b)
}

; CHECK-LABEL: define i64 @constant_ptrtoint()
; CHECK:         [[P:%[0-9]+]] = ptrtoint i32* %a.cls to i64
; CHECK-NEXT:    ret i64 [[P]]
define i64 @constant_ptrtoint() {
  ret i64 ptrtoint (i32* @a to i64)
}
