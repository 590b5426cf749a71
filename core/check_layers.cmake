# cmake -DCORE_DIR=<dir> -P check_layers.cmake
#
# Fails when a file of one layer of core/ includes a header of a layer above it (or of a folder
# the table does not know). The layers, bottom up, and what each may include besides itself:
#   mqtt    (the codec)             nothing
#   config  (TOML -> Config)        nothing
#   util    (log, small containers) config
#   net     (listeners, TLS)        config util
#   broker  (protocol engine)       mqtt net config util
#   plugin  (the plugin host)       broker mqtt net config util
#   server  (workers, signals)      everything below
# The SDK's <roost/plugin.h> (the C ABI) is below all of them and allowed everywhere. Files
# directly in core/ (main.cpp) sit on top. The table is ordered, so an include cycle between
# folders cannot pass. Registered with CTest (core_layers) and run by every build (core/CMakeLists.txt).
cmake_minimum_required(VERSION 3.20)
if(NOT CORE_DIR)
  message(FATAL_ERROR "usage: cmake -DCORE_DIR=<core folder> -P check_layers.cmake")
endif()

set(layers mqtt config util net broker plugin server)
set(allowed_mqtt mqtt)
set(allowed_config config)
set(allowed_util util config)
set(allowed_net net config util)
set(allowed_broker broker mqtt net config util)
set(allowed_plugin plugin broker mqtt net config util)
set(allowed_server server plugin broker mqtt net config util)

file(GLOB_RECURSE files RELATIVE ${CORE_DIR} ${CORE_DIR}/*.hpp ${CORE_DIR}/*.cpp ${CORE_DIR}/*.h)
set(errors 0)
set(checked 0)
foreach(file IN LISTS files)
  string(REGEX MATCH "^[^/]+/" dir "${file}")
  if(NOT dir)
    continue()  # core/main.cpp: the top
  endif()
  string(REGEX REPLACE "/$" "" dir "${dir}")
  if(NOT dir IN_LIST layers)
    message(SEND_ERROR "core/${file}: folder '${dir}' is in no layer; add it to core/check_layers.cmake")
    math(EXPR errors "${errors} + 1")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  file(STRINGS ${CORE_DIR}/${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<][^\">]+/")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[\"<]([^\">/]+)/.*" "\\1" target "${line}")
    if(NOT target IN_LIST layers OR target IN_LIST allowed_${dir})
      continue()  # not a core folder (<roost/plugin.h>, <sys/...>), or allowed
    endif()
    string(STRIP "${line}" line)
    list(JOIN allowed_${dir} ", " may)
    message(SEND_ERROR "core/${file}: '${line}': ${dir}/ may include only ${may} "
                       "(${target}/ is a layer above it; see core/README.md, \"Layers\")")
    math(EXPR errors "${errors} + 1")
  endforeach()
endforeach()

if(errors GREATER 0)
  message(FATAL_ERROR "${errors} include(s) break the layering of core/")
endif()
if(checked EQUAL 0)
  message(FATAL_ERROR "no files found under ${CORE_DIR}")
endif()
message(STATUS "core layers: ${checked} files, no include goes up a layer")
