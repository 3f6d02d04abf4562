#!/usr/bin/env bash
# Installs what qkv needs to build, test and (with --docs) make its documentation site.
# Debian 12 and later: installs the missing packages with apt-get (through sudo when not
# root). Elsewhere: prints the package names for Ubuntu 24.04 and Homebrew and stops.
#
#   scripts/setup.sh            build and test dependencies
#   scripts/setup.sh --docs     also Doxygen, MathJax, the theme and Chromium (docs site)
#   scripts/setup.sh --lint     also clang-format and clang-tidy (scripts/ci-format.sh)
#   scripts/setup.sh --print    print the package lists only
set -euo pipefail

build_packages=(g++ cmake ninja-build libeigen3-dev libfmt-dev libcli11-dev catch2 nlohmann-json3-dev libpugixml-dev libbenchmark-dev python3)
docs_packages=(doxygen doxygen-awesome-css libjs-mathjax chromium python3)
lint_packages=(clang-format clang-tidy)
ubuntu_packages="g++ cmake ninja-build libeigen3-dev libfmt-dev libcli11-dev catch2 nlohmann-json3-dev libpugixml-dev libbenchmark-dev  (docs: doxygen doxygen-awesome-css libjs-mathjax chromium-browser python3)"
brew_packages="cmake ninja eigen fmt cli11 catch2 nlohmann-json pugixml google-benchmark  (docs: doxygen)"

want_docs=0 want_lint=0
for arg in "$@"; do
  case "$arg" in
    --docs) want_docs=1 ;;
    --lint) want_lint=1 ;;
    --print)
      echo "Debian 12:    ${build_packages[*]}  (docs: ${docs_packages[*]})"
      echo "Ubuntu 24.04: sudo apt-get install $ubuntu_packages"
      echo "Homebrew:     brew install $brew_packages"
      exit 0 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

packages=("${build_packages[@]}")
[ "$want_docs" = 1 ] && packages+=("${docs_packages[@]}")
[ "$want_lint" = 1 ] && packages+=("${lint_packages[@]}")

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  echo "setup.sh: this is not a Debian-like system; install these yourself:"
  echo "  Ubuntu 24.04: sudo apt-get install $ubuntu_packages"
  echo "  Homebrew:     brew install $brew_packages"
  exit 1
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup.sh: all ${#packages[@]} packages are installed."
  exit 0
fi

echo "setup.sh: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup.sh: done."
