// A stand-in for TFLite's C API header, for sgc's tests only: the few types and functions the code of
// `sgc stubs` uses, declared as TFLite's C API documents them (names and members used by kernels), so
// that the tests can compile the generated kernels and run their Prepare/Invoke on a fake context where no
// package provides TFLite's real headers. Not ABI-compatible with TFLite: never link it against LiteRT.
// When the real headers are available (SGC_TFLITE_INCLUDE), the tests compile against those instead.
#ifndef SGC_TEST_TFLITE_C_COMMON_H_
#define SGC_TEST_TFLITE_C_COMMON_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum TfLiteStatus { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;

typedef struct TfLiteIntArray {
  int size;
  int data[];
} TfLiteIntArray;

TfLiteIntArray* TfLiteIntArrayCreate(int size);

typedef struct TfLiteTensor {
  int type;
  TfLiteIntArray* dims;
} TfLiteTensor;

typedef struct TfLiteNode {
  TfLiteIntArray* inputs;
  TfLiteIntArray* outputs;
} TfLiteNode;

typedef struct TfLiteContext {
  size_t tensors_size;
  TfLiteTensor* tensors;
  TfLiteStatus (*ResizeTensor)(struct TfLiteContext*, TfLiteTensor* tensor, TfLiteIntArray* new_size);
  void (*ReportError)(struct TfLiteContext*, const char* msg, ...);
} TfLiteContext;

typedef struct TfLiteRegistration {
  void* (*init)(TfLiteContext* context, const char* buffer, size_t length);
  void (*free)(TfLiteContext* context, void* buffer);
  TfLiteStatus (*prepare)(TfLiteContext* context, TfLiteNode* node);
  TfLiteStatus (*invoke)(TfLiteContext* context, TfLiteNode* node);
  const char* (*profiling_string)(const TfLiteContext* context, const TfLiteNode* node);
  int builtin_code;
  const char* custom_name;
  int version;
} TfLiteRegistration;

#ifdef __cplusplus
}
#endif

#endif
