# Cross-builds roofaudit for AArch64 Linux on a Debian x86-64 host: Debian's
# g++-aarch64-linux-gnu, and the arm64 development packages installed through multiarch
# (dpkg --add-architecture arm64; .ci/install-arm64-deps.sh). Programs that run at build
# time (glslc, git) come from the host; libraries and headers from the arm64 multiarch
# paths. Tests run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Libraries from /usr/lib/aarch64-linux-gnu; headers shared through /usr/include (arm64
# ones first where a package ships arch-specific headers). ROOFAUDIT_ARM64_EXTRA_ROOT: a
# folder holding arm64 development files that cannot be co-installed beside the host's
# (Debian's libdnnl-dev is not multiarch-installable, so its headers are unpacked there).
if(DEFINED ENV{ROOFAUDIT_ARM64_EXTRA_ROOT})
  set(ROOFAUDIT_ARM64_EXTRA_ROOT "$ENV{ROOFAUDIT_ARM64_EXTRA_ROOT}" CACHE PATH "unpacked arm64 development files")
else()
  # Where .ci/install-arm64-deps.sh unpacks them.
  set(ROOFAUDIT_ARM64_EXTRA_ROOT "${CMAKE_CURRENT_LIST_DIR}/../../build/arm64-extra" CACHE PATH "unpacked arm64 development files")
endif()
set(CMAKE_FIND_ROOT_PATH ${ROOFAUDIT_ARM64_EXTRA_ROOT} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config: the arm64 .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# qemu-aarch64-static runs the test binary (gtest discovery and ctest); QEMU_CPU (max
# unless set) picks the emulated core and its features.
find_program(ROOFAUDIT_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(ROOFAUDIT_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${ROOFAUDIT_QEMU_AARCH64})
endif()
