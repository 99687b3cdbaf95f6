; LLVM 16, opaque pointers: an external constant that may hold a pointer (here
; `extern FILE *const stdout;`, and an array of pointers) is a CLS symbol, so its uses
; go through __cls_get_addr; one without pointers is left alone.

; CHECK: @stdout = external constant ptr{{$}}
@stdout = external constant ptr
; CHECK: @names = external constant [2 x ptr]{{$}}
@names = external constant [2 x ptr]
; CHECK: @limits = external constant [2 x i32]{{$}}
@limits = external constant [2 x i32]

declare i32 @fputs(ptr, ptr)

; CHECK-LABEL: define i32 @say(ptr %s)
; CHECK-NEXT:    %stdout.cls = call ptr @__cls_get_addr(ptr @stdout)
; CHECK-NEXT:    %names.cls = call ptr @__cls_get_addr(ptr @names)
; CHECK-NEXT:    %f = load ptr, ptr %stdout.cls
; CHECK-NEXT:    [[N:%[0-9]+]] = getelementptr inbounds [2 x ptr], ptr %names.cls, i64 0, i64 1
; CHECK-NEXT:    %n = load ptr, ptr [[N]]
; CHECK-NEXT:    %l = load i32, ptr getelementptr inbounds ([2 x i32], ptr @limits, i64 0, i64 1)
define i32 @say(ptr %s) {
  %f = load ptr, ptr @stdout
  %n = load ptr, ptr getelementptr inbounds ([2 x ptr], ptr @names, i64 0, i64 1)
  %l = load i32, ptr getelementptr inbounds ([2 x i32], ptr @limits, i64 0, i64 1)
  %r = call i32 @fputs(ptr %n, ptr %f)
  ret i32 %r
}
