# Phone prefix -> time zones table for lib/rules/lead_tz.c, generated at build time
# from libphonenumber's data as Debian ships it (python3-phonenumbers).
# Debian's /usr/bin/python3 is used on purpose: another python3 earlier on
# the PATH (pyenv, venv) does not see the Debian package.
set(OUTDIAL_PHONE_TZ_PYTHON /usr/bin/python3 CACHE FILEPATH
    "Python that can import phonenumbers.tzdata (Debian's python3-phonenumbers)")

execute_process(
    COMMAND ${OUTDIAL_PHONE_TZ_PYTHON} -c
            "import os, phonenumbers.tzdata as t; print(os.path.dirname(t.__file__))"
    OUTPUT_VARIABLE PHONE_TZ_DATA_DIR
    OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE phone_tz_rc
    ERROR_QUIET)
if(NOT phone_tz_rc EQUAL 0)
    message(FATAL_ERROR "${OUTDIAL_PHONE_TZ_PYTHON} cannot import phonenumbers.tzdata: "
                        "install the Debian package python3-phonenumbers")
endif()
file(GLOB PHONE_TZ_DATA_FILES ${PHONE_TZ_DATA_DIR}/*.py)

set(PHONE_TZ_OUT ${CMAKE_BINARY_DIR}/gen/phone_tz_table.c)
add_custom_command(
    OUTPUT ${PHONE_TZ_OUT}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/gen
    COMMAND ${OUTDIAL_PHONE_TZ_PYTHON} ${CMAKE_SOURCE_DIR}/tools/gen/phone_tz.py ${PHONE_TZ_OUT}
    DEPENDS ${CMAKE_SOURCE_DIR}/tools/gen/phone_tz.py ${PHONE_TZ_DATA_FILES}
    COMMENT "Generating phone prefix time zone table from python3-phonenumbers")
list(APPEND OUTDIAL_GENERATED_SOURCES ${PHONE_TZ_OUT})
