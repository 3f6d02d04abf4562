#pragma once
/// @file
/// Errors with messages that say what went wrong and where. Every public function of the
/// qkv library checks the shapes it is given and throws qkv::ShapeError naming itself and
/// both shapes, instead of reading out of bounds or returning a silently wrong number.

#include <stdexcept>
#include <string>
#include <string_view>

#include "qkv/types.hpp"

namespace qkv {

/// Base of every error qkv throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Two operands whose shapes do not fit together, e.g. Q (4x8) and K (5x6).
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// An argument outside its valid range (a non-positive size, k > T, a zero vector, ...).
class ValueError : public Error {
 public:
  using Error::Error;
};

/// Thrown by an exercise stub that the learner has not filled in yet.
class NotDone : public Error {
 public:
  /// @param file the stub's path, as `__FILE__` (relative to the repository).
  explicit NotDone(std::string_view file)
      : Error("not done yet: edit\n  " + std::string(file) +
              "\n  (read its TODO, then replace the QKV_NOT_DONE() line)") {}
};

/// "4x8": a matrix's shape as rows x columns.
template <typename Derived>
std::string shape_of(const Eigen::EigenBase<Derived>& m) {
  return std::to_string(m.rows()) + "x" + std::to_string(m.cols());
}

/// Throws ShapeError("function: what (name_a is AxB, name_b is CxD)") unless `ok`.
template <typename A, typename B>
void require_shapes(bool ok, std::string_view function, std::string_view what,
                    std::string_view name_a, const Eigen::EigenBase<A>& a, std::string_view name_b,
                    const Eigen::EigenBase<B>& b) {
  if (!ok) {
    throw ShapeError(std::string(function) + ": " + std::string(what) + " (" + std::string(name_a) +
                     " is " + shape_of(a) + ", " + std::string(name_b) + " is " + shape_of(b) +
                     ")");
  }
}

/// Throws ValueError("function: message") unless `ok`.
inline void require(bool ok, std::string_view function, std::string_view message) {
  if (!ok) throw ValueError(std::string(function) + ": " + std::string(message));
}

}  // namespace qkv

/// Ends an exercise stub: throws qkv::NotDone naming the file the learner should edit.
#define QKV_NOT_DONE() throw ::qkv::NotDone(__FILE__)
