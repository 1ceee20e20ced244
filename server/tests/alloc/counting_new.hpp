// Counts the allocations made through operator new on the calling thread (this test binary
// replaces the global operator new and delete; nothing else changes).
#pragma once

#include <cstddef>

namespace atelier::test {

std::size_t allocationsOnThisThread() noexcept;

}  // namespace atelier::test
