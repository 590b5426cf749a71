# cmake -DDIR=tests/abi/v1 -P check_frozen.cmake: fails if a frozen header was edited. A released
# header is a record of what plugins were built against; a change to the ABI goes into
# sdk/include (appended, or as v2), never here.
set(expected
    "roost/plugin.h=eaa1ba259937d77d777d1da1e4043081782f38ce1193533c5b40f4abe1e7cf5f"
    "roost/reason_codes.h=ee2ee136caf056cdd283689585c05b215e3d92227cd1bf2bcbb97cb84bc26907")
set(failed FALSE)
foreach(entry ${expected})
  string(REPLACE "=" ";" pair ${entry})
  list(GET pair 0 file)
  list(GET pair 1 sum)
  file(SHA256 ${DIR}/${file} actual)
  if(NOT actual STREQUAL sum)
    message(SEND_ERROR "${DIR}/${file} changed (sha256 ${actual}, frozen as ${sum}): frozen ABI headers are never edited")
    set(failed TRUE)
  endif()
endforeach()
if(NOT failed)
  message(STATUS "frozen v1 headers unchanged")
endif()
