// native/binding/async_job.h: run heavy native work off the JS thread.
// run_async copies nothing itself: the caller captures owned copies of its
// arguments (and Refs of JS objects it must keep alive) in `work`/`done`.
// `work` runs on a libuv worker and must not touch N-API; `done` runs on the
// JS thread and returns the value the Promise resolves with. Any exception in
// either becomes a typed rejection; nothing escapes to crash the process.
#pragma once
#include <napi.h>

#include <functional>
#include <string>

#include "../core/error.h"
#include "js_error.h"

namespace hl::binding {

class AsyncJob : public Napi::AsyncWorker {
 public:
  AsyncJob(Napi::Env env, const char* name, std::function<void()> work,
           std::function<Napi::Value(Napi::Env)> done)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)), done_(std::move(done)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      work_();
    } catch (const Error& e) {
      code_ = e.code;
      message_ = e.what();
      failed_ = true;
    } catch (const std::bad_alloc&) {
      code_ = ErrorCode::OutOfMemory;
      message_ = "out of memory";
      failed_ = true;
    } catch (const std::exception& e) {
      code_ = ErrorCode::Internal;
      message_ = e.what();
      failed_ = true;
    } catch (...) {
      code_ = ErrorCode::Internal;
      message_ = "unknown native error";
      failed_ = true;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (failed_) {
      deferred_.Reject(make_js_error(env, code_, message_).Value());
      return;
    }
    try {
      deferred_.Resolve(done_(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const Error& e) {
      deferred_.Reject(make_js_error(env, e.code, e.what()).Value());
    } catch (const std::exception& e) {
      deferred_.Reject(make_js_error(env, ErrorCode::Internal, e.what()).Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> done_;
  bool failed_ = false;
  ErrorCode code_ = ErrorCode::Internal;
  std::string message_;
};

// Queue work and return its Promise. The job deletes itself when settled.
inline Napi::Promise run_async(Napi::Env env, const char* name, std::function<void()> work,
                               std::function<Napi::Value(Napi::Env)> done) {
  auto* job = new AsyncJob(env, name, std::move(work), std::move(done));
  Napi::Promise p = job->promise();
  job->Queue();
  return p;
}

}  // namespace hl::binding
