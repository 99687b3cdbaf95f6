; An external (declaration-only) constant whose type may hold a pointer is a CLS
; symbol: its definition in another object may be a constant the pass promoted to CLS
; data, like musl's `FILE *const stdout = &f;` seen here as `extern FILE *const stdout;`.
; Reading the shared template would yield the template's pointer, so every use goes
; through __cls_get_addr (which returns a non-template address unchanged). The
; declarations stay `external constant`, without a section. A constant pointing at such
; a declaration is promoted as usual. Declared constants without pointers and
; thread-local ones are left alone.

%struct._IO_FILE = type { i32, i8* }
%struct.opaque = type opaque

; CHECK: @stdout = external constant %struct._IO_FILE*{{$}}
@stdout = external constant %struct._IO_FILE*
; CHECK: @names = external constant [3 x i8*]{{$}}
@names = external constant [3 x i8*]
; CHECK: @ops = external constant { i32, void ()* }{{$}}
@ops = external constant { i32, void ()* }
; An opaque struct's body is unknown here: it may hold a pointer.
; CHECK: @handle = external constant %struct.opaque{{$}}
@handle = external constant %struct.opaque
; CHECK: @limits = external constant [2 x i32]{{$}}
@limits = external constant [2 x i32]
; CHECK: @tls_pointer = external thread_local constant i8*{{$}}
@tls_pointer = external thread_local constant i8*
; CHECK: @stdout_ref = internal global %struct._IO_FILE** @stdout, section ".cls.data"
@stdout_ref = internal constant %struct._IO_FILE** @stdout

declare i32 @fputs(i8*, %struct._IO_FILE*)
declare void @use(i8*)

; CHECK-LABEL: define i32 @say(i8* %s)
; CHECK-NEXT:    %stdout.cls.raw = call i8* @__cls_get_addr(i8* bitcast (%struct._IO_FILE** @stdout to i8*))
; CHECK-NEXT:    %stdout.cls = bitcast i8* %stdout.cls.raw to %struct._IO_FILE**
; CHECK-NEXT:    %f = load %struct._IO_FILE*, %struct._IO_FILE** %stdout.cls
define i32 @say(i8* %s) {
  %f = load %struct._IO_FILE*, %struct._IO_FILE** @stdout
  %r = call i32 @fputs(i8* %s, %struct._IO_FILE* %f)
  ret i32 %r
}

; CHECK-LABEL: define void @more()
; CHECK-NEXT:    %names.cls.raw = call i8* @__cls_get_addr(i8* bitcast ([3 x i8*]* @names to i8*))
; CHECK-NEXT:    %names.cls = bitcast i8* %names.cls.raw to [3 x i8*]*
; CHECK-NEXT:    %ops.cls.raw = call i8* @__cls_get_addr(i8* bitcast ({ i32, void ()* }* @ops to i8*))
; CHECK-NEXT:    %ops.cls = bitcast i8* %ops.cls.raw to { i32, void ()* }*
; CHECK-NEXT:    %handle.cls.raw = call i8* @__cls_get_addr(i8* bitcast (%struct.opaque* @handle to i8*))
; CHECK-NEXT:    %handle.cls = bitcast i8* %handle.cls.raw to %struct.opaque*
; CHECK-NEXT:    %stdout_ref.cls.raw = call i8* @__cls_get_addr(i8* bitcast (%struct._IO_FILE*** @stdout_ref to i8*))
; CHECK-NEXT:    %stdout_ref.cls = bitcast i8* %stdout_ref.cls.raw to %struct._IO_FILE***
; CHECK-NEXT:    [[N:%[0-9]+]] = getelementptr inbounds [3 x i8*], [3 x i8*]* %names.cls, i64 0, i64 1
; CHECK-NEXT:    %n = load i8*, i8** [[N]]
; CHECK:         [[O:%[0-9]+]] = getelementptr inbounds { i32, void ()* }, { i32, void ()* }* %ops.cls, i64 0, i32 1
; CHECK-NEXT:    %o = load void ()*, void ()** [[O]]
; CHECK:         [[H:%[0-9]+]] = bitcast %struct.opaque* %handle.cls to i8*
; CHECK-NEXT:    call void @use(i8* [[H]])
; CHECK-NEXT:    %l = load i32, i32* getelementptr inbounds ([2 x i32], [2 x i32]* @limits, i64 0, i64 1)
; CHECK-NEXT:    %t = load i8*, i8** @tls_pointer
; CHECK:         %sr = load %struct._IO_FILE**, %struct._IO_FILE*** %stdout_ref.cls
define void @more() {
  %n = load i8*, i8** getelementptr inbounds ([3 x i8*], [3 x i8*]* @names, i64 0, i64 1)
  call void @use(i8* %n)
  %o = load void ()*, void ()** getelementptr inbounds ({ i32, void ()* }, { i32, void ()* }* @ops, i64 0, i32 1)
  call void %o()
  call void @use(i8* bitcast (%struct.opaque* @handle to i8*))
  %l = load i32, i32* getelementptr inbounds ([2 x i32], [2 x i32]* @limits, i64 0, i64 1)
  %t = load i8*, i8** @tls_pointer
  call void @use(i8* %t)
  %sr = load %struct._IO_FILE**, %struct._IO_FILE*** @stdout_ref
  ret void
}
