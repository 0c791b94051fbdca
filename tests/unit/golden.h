// The golden wire files (tests/golden/wire/valid/<EventType>.json, one valid event per type)
// for the unit tests. Needs WEP_GOLDEN_DIR, which tests/CMakeLists.txt defines.
#ifndef WALLET_EVENTD_TESTS_UNIT_GOLDEN_H_
#define WALLET_EVENTD_TESTS_UNIT_GOLDEN_H_

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace wep_unit {

inline std::filesystem::path golden_dir() {
  return std::filesystem::path(WEP_GOLDEN_DIR) / "wire" / "valid";
}

// The whole file; "" when it cannot be read.
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The *.json files of golden_dir(), sorted.
inline std::vector<std::filesystem::path> golden_files() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(golden_dir())) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace wep_unit

#endif  // WALLET_EVENTD_TESTS_UNIT_GOLDEN_H_
