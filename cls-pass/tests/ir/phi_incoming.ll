; A PHI's incoming CLS address comes from the entry call; an incoming constant
; expression is expanded at the end of its incoming block, once per block even when
; the block reaches the PHI along two edges.

@x = global [4 x i32] zeroinitializer
@y = global i32 0

; CHECK-LABEL: define i32* @choose(i1 %c)
; CHECK:       entry:
; CHECK:         %x.cls = bitcast i8* %x.cls.raw to [4 x i32]*
; CHECK:         %y.cls = bitcast i8* %y.cls.raw to i32*
; CHECK-NEXT:    br i1 %c, label %left, label %right
; CHECK:       left:
; CHECK-NEXT:    [[X1:%[0-9]+]] = getelementptr inbounds [4 x i32], [4 x i32]* %x.cls, i64 0, i64 1
; CHECK-NEXT:    br label %join
; CHECK:       right:
; CHECK-NEXT:    br label %join
; CHECK:       join:
; CHECK-NEXT:    %p = phi i32* [ [[X1]], %left ], [ %y.cls, %right ]
define i32* @choose(i1 %c) {
entry:
  br i1 %c, label %left, label %right
left:
  br label %join
right:
  br label %join
join:
  %p = phi i32* [ getelementptr inbounds ([4 x i32], [4 x i32]* @x, i64 0, i64 1), %left ], [ @y, %right ]
  ret i32* %p
}

; CHECK-LABEL: define i32* @switch_edges(i32 %k)
; CHECK:       entry:
; CHECK:         [[X2:%[0-9]+]] = getelementptr inbounds [4 x i32], [4 x i32]* %x.cls, i64 0, i64 2
; CHECK-NEXT:    switch i32 %k, label %done [
; CHECK:       done:
; CHECK-NEXT:    %p = phi i32* [ [[X2]], %entry ], [ [[X2]], %entry ], [ [[X2]], %entry ]
define i32* @switch_edges(i32 %k) {
entry:
  switch i32 %k, label %done [
    i32 1, label %done
    i32 2, label %done
  ]
done:
  %p = phi i32* [ getelementptr inbounds ([4 x i32], [4 x i32]* @x, i64 0, i64 2), %entry ], [ getelementptr inbounds ([4 x i32], [4 x i32]* @x, i64 0, i64 2), %entry ], [ getelementptr inbounds ([4 x i32], [4 x i32]* @x, i64 0, i64 2), %entry ]
  ret i32* %p
}
