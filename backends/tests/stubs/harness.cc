// Runs the generated kernels of the `stubs` tests on a fake TfLiteContext (see common.h beside): for
// each `op_name in_shape out_shape` case on the command line, Prepare must give the output the recorded
// shape, and Invoke must fail with "not implemented". Prints one line per check.
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sgc_custom_ops.h"

extern "C" TfLiteIntArray* TfLiteIntArrayCreate(int size) {
  TfLiteIntArray* a = static_cast<TfLiteIntArray*>(std::malloc(sizeof(int) * (size + 1)));
  a->size = size;
  return a;
}

static std::string last_error;

static void ReportError(TfLiteContext*, const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  last_error = buf;
}

static TfLiteStatus ResizeTensor(TfLiteContext*, TfLiteTensor* t, TfLiteIntArray* dims) {
  std::free(t->dims);
  t->dims = dims;
  return kTfLiteOk;
}

// "1x4" → {1, 4}; "" → a scalar.
static TfLiteIntArray* Dims(const char* s) {
  std::vector<int> d;
  for (const char* p = s; *p;) {
    d.push_back(std::atoi(p));
    p = std::strchr(p, 'x');
    if (!p) break;
    ++p;
  }
  TfLiteIntArray* a = TfLiteIntArrayCreate(static_cast<int>(d.size()));
  for (size_t i = 0; i < d.size(); ++i) a->data[i] = d[i];
  return a;
}

int main(int argc, char** argv) {
  int failures = 0;
  for (int a = 1; a + 2 < argc; a += 3) {
    const char* want_name = argv[a];
    const TfLiteRegistration* reg = nullptr;
    const char* name = nullptr;
    for (int i = 0; (reg = SgcCustomOp(i, &name)); ++i) {
      if (std::strcmp(name, want_name) == 0) break;
    }
    if (!reg) {
      std::printf("%s: no registration\n", want_name);
      ++failures;
      continue;
    }
    TfLiteTensor tensors[2] = {{1, Dims(argv[a + 1])}, {1, TfLiteIntArrayCreate(0)}};
    TfLiteContext context = {2, tensors, ResizeTensor, ReportError};
    TfLiteIntArray* ins = Dims("0");
    TfLiteIntArray* outs = Dims("1");
    TfLiteNode node = {ins, outs};
    const TfLiteStatus prepared = reg->prepare(&context, &node);
    std::string got;
    for (int d = 0; d < tensors[1].dims->size; ++d) {
      got += (d ? "x" : "") + std::to_string(tensors[1].dims->data[d]);
    }
    const bool shape_ok = prepared == kTfLiteOk && got == argv[a + 2];
    std::printf("%s prepare %s -> %s: %s\n", reg->custom_name, argv[a + 1], got.c_str(),
                prepared == kTfLiteOk ? "ok" : last_error.c_str());
    const TfLiteStatus invoked = reg->invoke(&context, &node);
    std::printf("%s invoke: %s\n", reg->custom_name, last_error.c_str());
    if (!shape_ok || invoked != kTfLiteError) ++failures;
  }
  return failures;
}
