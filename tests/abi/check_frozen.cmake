# cmake -DDIR=tests/abi/v1 -P check_frozen.cmake: fails if a frozen header was edited. A released
# header is a record of what plugins were built against; a change to the ABI goes into
# sdk/include (appended, or as v2), never here.
set(expected
    "roost/plugin.h=644dd48664d5d2c3c7102ca48a77f727e356e76023489eb3a819fadfb29efc10"
    "roost/reason_codes.h=b92d77cbfc16ee582dc882590b38a04af71df1d79cdd76f3a1ffbc94877b98f8")
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
