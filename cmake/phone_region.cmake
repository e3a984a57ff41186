# NANP area code -> US state / Canadian province table for lib/rules/lead_region.c,
# generated at build time from libphonenumber's geocoding data as Debian ships
# it (python3-phonenumbers). Uses the Python cmake/phone_tz.cmake chose (Debian's
# /usr/bin/python3, which sees the Debian package).
set(OUTDIAL_PHONE_REGION_PYTHON /usr/bin/python3 CACHE FILEPATH
    "Python that can import phonenumbers.geodata (Debian's python3-phonenumbers)")

execute_process(
    COMMAND ${OUTDIAL_PHONE_REGION_PYTHON} -c
            "import os, phonenumbers.geodata as g; print(os.path.dirname(g.__file__))"
    OUTPUT_VARIABLE PHONE_REGION_DATA_DIR
    OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE phone_region_rc
    ERROR_QUIET)
if(NOT phone_region_rc EQUAL 0)
    message(FATAL_ERROR "${OUTDIAL_PHONE_REGION_PYTHON} cannot import phonenumbers.geodata: "
                        "install the Debian package python3-phonenumbers")
endif()
file(GLOB PHONE_REGION_DATA_FILES ${PHONE_REGION_DATA_DIR}/*.py)

set(PHONE_REGION_OUT ${CMAKE_BINARY_DIR}/gen/phone_region_table.c)
add_custom_command(
    OUTPUT ${PHONE_REGION_OUT}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/gen
    COMMAND ${OUTDIAL_PHONE_REGION_PYTHON} ${CMAKE_SOURCE_DIR}/tools/gen/phone_region.py
            ${PHONE_REGION_OUT}
    DEPENDS ${CMAKE_SOURCE_DIR}/tools/gen/phone_region.py ${PHONE_REGION_DATA_FILES}
    COMMENT "Generating area code region table from python3-phonenumbers")
list(APPEND OUTDIAL_GENERATED_SOURCES ${PHONE_REGION_OUT})
