; A constant table without pointers to CLS data (numbers, strings, functions) is
; shared read-only data: untouched, and its uses are not rewritten. A module with no
; CLS data is not changed at all (no declaration of __cls_get_addr).

; CHECK: @.str = private unnamed_addr constant [6 x i8] c"hello\00", align 1
@.str = private unnamed_addr constant [6 x i8] c"hello\00", align 1
; CHECK: @names = constant [2 x i8*] [i8* getelementptr inbounds ([6 x i8], [6 x i8]* @.str, i32 0, i32 0), i8* null], align 16
@names = constant [2 x i8*] [i8* getelementptr inbounds ([6 x i8], [6 x i8]* @.str, i32 0, i32 0), i8* null], align 16
; CHECK: @squares = constant [3 x i32] [i32 0, i32 1, i32 4]
@squares = constant [3 x i32] [i32 0, i32 1, i32 4]
; CHECK: @handlers = constant [1 x void ()*] [void ()* @handler]
@handlers = constant [1 x void ()*] [void ()* @handler]

; CHECK-NOT: section
; CHECK-LABEL: define i8* @name(i64 %i)
; CHECK-NEXT:    %p = getelementptr [2 x i8*], [2 x i8*]* @names, i64 0, i64 %i
; CHECK-NEXT:    %s = load i8*, i8** %p
; CHECK-NEXT:    %q = load i32, i32* getelementptr inbounds ([3 x i32], [3 x i32]* @squares, i64 0, i64 2)
define i8* @name(i64 %i) {
  %p = getelementptr [2 x i8*], [2 x i8*]* @names, i64 0, i64 %i
  %s = load i8*, i8** %p
  %q = load i32, i32* getelementptr inbounds ([3 x i32], [3 x i32]* @squares, i64 0, i64 2)
  ret i8* %s
}

define void @handler() {
  ret void
}

; CHECK-NOT: __cls_get_addr
