/*
 * Time series read straight from the wire bytes of PutSamplesRequest and NotifySamplesRequest.
 *
 * Why: through protobuf's Python objects, reading the fields of a batch (a wrapper object
 * per series, map entry, point and timestamp) costs several times what parsing it does,
 * and more than everything else either call does. This reads the wire format once and
 * builds the series those calls work on:
 *
 *   decode_put_samples: what services.metrics.rules.check_put_samples returns for a valid
 *     PutSamples request, a list of SeriesPoints(SeriesKey(metric, sorted dimension pairs),
 *     times, values), the limits and types being the metrics service's (`configure`);
 *   decode_notified_series: a NotifySamples request's series as ((metric, sorted dimension
 *     pairs), values) tuples, its watch_version and watch_list_changes_accepted;
 *   columns: a decoded batch's times and values, each concatenated as packed doubles (what
 *     the ingest log stores), without a Python float or list made on the way;
 *   encode_notify_samples: the NotifySamples request the metrics notifier sends, from each
 *     series' serialized header and its lowest and highest new value;
 *   bounds: the least and greatest of a column of doubles (compaction summarises every series'
 *     points), in one pass and without a Python float per point;
 *   add_to_periods: a series' points added to the per-period summaries of a statistics query
 *     (services.metrics.chunks.PeriodSummaries.add_points), and add_series_to_periods: those of
 *     many series held in memory (PeriodSummaries.add_series; a sweep adds 100 000 series');
 *   encode_statistics_queries and encode_statistics_answers: a sweep's BatchGetStatistics request
 *     and its answer, written from plain tuples (see the comment above them), and
 *     decode_statistics_queries and decode_statistics_answers: the same read back, the queries as
 *     services.metrics.rules.check_get_statistics gives those that plainly keep its rules;
 *
 * Both take only the canonical encoding of a request the service would accept (each field
 * once, in any order, no unknown fields) and answer None for anything else: such a request
 * goes through protobuf and the service's rules, which say what is wrong or read it as
 * protobuf does (tests hold both paths to the same answers).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const uint8_t *at;
    const uint8_t *end;
} Reader;

typedef struct {
    PyTypeObject *series_key;
    PyTypeObject *series_points;
    Py_ssize_t max_metric_length;
    Py_ssize_t max_dimension_length;
    Py_ssize_t max_dimensions;
    Py_ssize_t max_dimensions_key_bytes;
    Py_ssize_t max_points;
} Settings;

static Settings settings;

/* How a request is read: a PutSamples batch is checked as the metrics service's rules would;
   notified series are only read (the alarm service takes what the metrics service sends). */
typedef struct {
    int checked;
    PyTypeObject *key_type;
    PyTypeObject *entry_type;
    double now;
    double latest_allowed;
} Mode;

enum { DECLINED = 0, DECODED = 1, FAILED = -1 };
/* DECLINED: not the common case (the caller answers None); FAILED: a Python exception is set. */

enum { VARINT = 0, FIXED64 = 1, LENGTH_DELIMITED = 2 };

static int read_varint(Reader *reader, uint64_t *value) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64 && reader->at < reader->end; shift += 7) {
        uint8_t byte = *reader->at++;
        if (shift == 63 && byte > 1) {
            return 0;
        }
        result |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *value = result;
            return 1;
        }
    }
    return 0;
}

/* The next field's number and wire type; a length-delimited field's bytes in `inner`. */
static int read_field(Reader *reader, uint32_t *number, int *wire_type, Reader *inner) {
    uint64_t tag, length;
    if (!read_varint(reader, &tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX) {
        return 0;
    }
    *number = (uint32_t)(tag >> 3);
    *wire_type = (int)(tag & 7);
    if (*wire_type == LENGTH_DELIMITED) {
        if (!read_varint(reader, &length) || length > (uint64_t)(reader->end - reader->at)) {
            return 0;
        }
        inner->at = reader->at;
        inner->end = reader->at + length;
        reader->at += length;
    }
    return 1;
}

static int read_double(Reader *reader, double *value) {
    if (reader->end - reader->at < 8) {
        return 0;
    }
    uint64_t bits = 0;
    for (int index = 7; index >= 0; index--) {
        bits = (bits << 8) | reader->at[index];
    }
    reader->at += 8;
    memcpy(value, &bits, sizeof bits);
    return 1;
}

/* A string field as str; NULL without an exception when it is not valid UTF-8. */
static PyObject *read_string(const Reader *field) {
    PyObject *text = PyUnicode_DecodeUTF8((const char *)field->at, field->end - field->at, NULL);
    if (text == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
    }
    return text;
}

/* The same str as the previous series' when the bytes are the same (batches repeat metric names and dimension names). */
static PyObject *read_string_like(const Reader *field, PyObject *previous, const Reader *previous_field) {
    Py_ssize_t length = field->end - field->at;
    if (previous != NULL && previous_field->end - previous_field->at == length && memcmp(field->at, previous_field->at, length) == 0) {
        Py_INCREF(previous);
        return previous;
    }
    return read_string(field);
}

static PyObject *new_pair(PyTypeObject *type, PyObject *first, PyObject *second) {
    /* A tuple subclass (a NamedTuple) built as tuple.__new__(type, (first, second)) would, without the argument tuple. */
    PyObject *pair = type->tp_alloc(type, 2);
    if (pair == NULL) {
        return NULL;
    }
    Py_INCREF(first);
    Py_INCREF(second);
    PyTuple_SET_ITEM(pair, 0, first);
    PyTuple_SET_ITEM(pair, 1, second);
    return pair;
}

static int bounded_text(PyObject *text, Py_ssize_t limit) {
    return PyUnicode_GET_LENGTH(text) <= limit;
}

/* What the previous series of the batch held, to reuse equal strings. */
typedef struct {
    PyObject *metric;
    Reader metric_field;
    PyObject *names[8];
    Reader name_fields[8];
} Previous;

/* One map entry of TimeSeries.dimensions: (name, value) appended to `pairs`; `characters` grows by their lengths. */
static int decode_dimension(const Mode *mode, Reader *entry, PyObject *pairs, Py_ssize_t position, Previous *previous,
                            PyObject **name_out, Reader *name_field_out, Py_ssize_t *characters) {
    Reader name_field = {NULL, NULL}, value_field = {NULL, NULL};
    int has_name = 0, has_value = 0;
    while (entry->at < entry->end) {
        uint32_t number;
        int wire_type;
        Reader field;
        if (!read_field(entry, &number, &wire_type, &field) || wire_type != LENGTH_DELIMITED) {
            return DECLINED;
        }
        if (number == 1 && !has_name) {
            name_field = field;
            has_name = 1;
        } else if (number == 2 && !has_value) {
            value_field = field;
            has_value = 1;
        } else {
            return DECLINED;
        }
    }
    if (!has_name || (mode->checked && name_field.at == name_field.end)) {
        return DECLINED; /* an empty name breaks a rule */
    }
    PyObject *name = position < 8 ? read_string_like(&name_field, previous->names[position], &previous->name_fields[position])
                                  : read_string(&name_field);
    if (name == NULL) {
        return PyErr_Occurred() ? FAILED : DECLINED;
    }
    PyObject *value = has_value ? read_string(&value_field) : PyUnicode_New(0, 0);
    if (value == NULL) {
        Py_DECREF(name);
        return PyErr_Occurred() ? FAILED : DECLINED;
    }
    int outcome = DECLINED;
    if (!mode->checked || (bounded_text(name, settings.max_dimension_length) && bounded_text(value, settings.max_dimension_length))) {
        *characters += PyUnicode_GET_LENGTH(name) + PyUnicode_GET_LENGTH(value);
        PyObject *pair = PyTuple_Pack(2, name, value);
        outcome = pair == NULL || PyList_Append(pairs, pair) < 0 ? FAILED : DECODED;
        Py_XDECREF(pair);
    }
    Py_DECREF(value);
    if (outcome == DECODED) {
        *name_out = name; /* the caller's reference now */
        *name_field_out = name_field;
    } else {
        Py_DECREF(name);
    }
    return outcome;
}

/* One Point: its time (or `now` when unset) and value appended, when the time is valid and not too far ahead and the value finite. */
static int decode_point(const Mode *mode, Reader *point, PyObject *times, PyObject *values) {
    double value = 0.0, time = mode->now;
    int has_value = 0, has_time = 0;
    while (point->at < point->end) {
        uint32_t number;
        int wire_type;
        Reader field;
        if (!read_field(point, &number, &wire_type, &field)) {
            return DECLINED;
        }
        if (number == 1 && wire_type == FIXED64 && !has_value) {
            if (!read_double(point, &value)) {
                return DECLINED;
            }
            has_value = 1;
        } else if (number == 2 && wire_type == LENGTH_DELIMITED && !has_time) {
            uint64_t seconds = 0, nanos = 0;
            int has_seconds = 0, has_nanos = 0;
            while (field.at < field.end) {
                uint32_t stamp_number;
                int stamp_wire_type;
                Reader unused;
                if (!read_field(&field, &stamp_number, &stamp_wire_type, &unused) || stamp_wire_type != VARINT) {
                    return DECLINED;
                }
                if (stamp_number == 1 && !has_seconds) {
                    has_seconds = read_varint(&field, &seconds);
                    if (!has_seconds) {
                        return DECLINED;
                    }
                } else if (stamp_number == 2 && !has_nanos) {
                    has_nanos = read_varint(&field, &nanos);
                    if (!has_nanos) {
                        return DECLINED;
                    }
                } else {
                    return DECLINED;
                }
            }
            has_time = 1;
            if (!mode->checked) {
                continue; /* notified series: only values count */
            }
            /* As check_put_samples: seconds > 0 and 0 <= nanos < 1e9, and no more than MAX_FUTURE ahead. */
            if ((int64_t)seconds <= 0 || nanos >= 1000000000u) {
                return DECLINED;
            }
            time = (double)(int64_t)seconds + (double)nanos / 1e9;
            if (time > mode->latest_allowed) {
                return DECLINED;
            }
        } else {
            return DECLINED;
        }
    }
    if (mode->checked && !isfinite(value)) {
        return DECLINED;
    }
    if (times != NULL) {
        PyObject *time_object = PyFloat_FromDouble(time);
        if (time_object == NULL) {
            return FAILED;
        }
        int failed = PyList_Append(times, time_object) < 0;
        Py_DECREF(time_object);
        if (failed) {
            return FAILED;
        }
    }
    PyObject *value_object = PyFloat_FromDouble(value);
    if (value_object == NULL) {
        return FAILED;
    }
    int failed = PyList_Append(values, value_object) < 0;
    Py_DECREF(value_object);
    return failed ? FAILED : DECODED;
}

static int metric_is_valid(const Mode *mode, PyObject *metric) {
    Py_ssize_t length = PyUnicode_GET_LENGTH(metric);
    if (length == 0 || !mode->checked) {
        return length > 0;
    }
    if (length > settings.max_metric_length) {
        return 0;
    }
    /* No surrounding whitespace: what str.strip() would remove. */
    return !Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(metric, 0)) && !Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(metric, length - 1));
}

/* The dimension pairs sorted as a tuple; DECLINED when a name repeats or the set breaks a bound. */
static int sorted_dimensions(const Mode *mode, PyObject *pairs, Py_ssize_t characters, PyObject **sorted) {
    Py_ssize_t count = PyList_GET_SIZE(pairs);
    /* Within this bound the canonical JSON key surely fits (see rules.check_stored_dimensions); beyond it, rules measures. */
    if (mode->checked && (count > settings.max_dimensions || 2 + 6 * (characters + count) > settings.max_dimensions_key_bytes)) {
        return DECLINED;
    }
    if (PyList_Sort(pairs) < 0) {
        return FAILED;
    }
    for (Py_ssize_t index = 1; index < count; index++) {
        int same = PyUnicode_Compare(PyTuple_GET_ITEM(PyList_GET_ITEM(pairs, index - 1), 0),
                                     PyTuple_GET_ITEM(PyList_GET_ITEM(pairs, index), 0));
        if (same == -1 && PyErr_Occurred()) {
            return FAILED;
        }
        if (same == 0) {
            return DECLINED; /* a name twice: protobuf keeps the last value; leave that to it */
        }
    }
    *sorted = PyList_AsTuple(pairs);
    return *sorted == NULL ? FAILED : DECODED;
}

/* One TimeSeries, as SeriesPoints appended to `batch`; `points` grows by its number of points. */
static int decode_series(const Mode *mode, Reader *series, PyObject *batch, Previous *previous, Py_ssize_t *points) {
    Reader metric_field = {NULL, NULL};
    Reader name_fields[8];
    PyObject *names[8] = {NULL};
    int has_metric = 0, outcome = FAILED;
    Py_ssize_t characters = 0;
    PyObject *metric = NULL, *dimensions = NULL, *key = NULL, *entry = NULL;
    PyObject *pairs = PyList_New(0), *values = PyList_New(0);
    PyObject *times = mode->checked ? PyList_New(0) : NULL; /* notified series: values only */
    if (pairs == NULL || (mode->checked && times == NULL) || values == NULL) {
        goto done;
    }
    while (series->at < series->end) {
        uint32_t number;
        int wire_type;
        Reader field;
        if (!read_field(series, &number, &wire_type, &field) || wire_type != LENGTH_DELIMITED) {
            outcome = DECLINED;
            goto done;
        }
        if (number == 1 && !has_metric) {
            metric_field = field;
            has_metric = 1;
        } else if (number == 2) {
            Py_ssize_t position = PyList_GET_SIZE(pairs);
            PyObject *name = NULL;
            Reader name_field = {NULL, NULL};
            outcome = decode_dimension(mode, &field, pairs, position, previous, &name, &name_field, &characters);
            if (outcome != DECODED) {
                goto done;
            }
            if (position < 8) {
                names[position] = name;
                name_fields[position] = name_field;
            } else {
                Py_DECREF(name);
            }
        } else if (number == 3) {
            outcome = decode_point(mode, &field, times, values);
            if (outcome != DECODED) {
                goto done;
            }
        } else {
            outcome = DECLINED;
            goto done;
        }
    }
    outcome = DECLINED;
    if (!has_metric || (mode->checked && PyList_GET_SIZE(values) == 0)) {
        goto done;
    }
    metric = read_string_like(&metric_field, previous->metric, &previous->metric_field);
    if (metric == NULL) {
        outcome = PyErr_Occurred() ? FAILED : DECLINED;
        goto done;
    }
    if (!metric_is_valid(mode, metric)) {
        goto done;
    }
    outcome = sorted_dimensions(mode, pairs, characters, &dimensions);
    if (outcome != DECODED) {
        goto done;
    }
    outcome = FAILED;
    key = new_pair(mode->key_type, metric, dimensions);
    if (key == NULL) {
        goto done;
    }
    if (times != NULL) {
        entry = mode->entry_type->tp_alloc(mode->entry_type, 3);
        if (entry == NULL) {
            goto done;
        }
        PyTuple_SET_ITEM(entry, 0, Py_NewRef(key));
        PyTuple_SET_ITEM(entry, 1, Py_NewRef(times));
        PyTuple_SET_ITEM(entry, 2, Py_NewRef(values));
    } else {
        entry = new_pair(mode->entry_type, key, values);
        if (entry == NULL) {
            goto done;
        }
    }
    if (PyList_Append(batch, entry) < 0) {
        goto done;
    }
    *points += PyList_GET_SIZE(values);
    /* This series' strings, by their place on the wire, for the next series to reuse. */
    Py_XSETREF(previous->metric, Py_NewRef(metric));
    previous->metric_field = metric_field;
    for (int index = 0; index < 8; index++) {
        if (names[index] != NULL) {
            Py_XSETREF(previous->names[index], names[index]);
            previous->name_fields[index] = name_fields[index];
            names[index] = NULL;
        }
    }
    outcome = DECODED;
done:
    Py_XDECREF(pairs);
    Py_XDECREF(times);
    Py_XDECREF(values);
    Py_XDECREF(metric);
    Py_XDECREF(dimensions);
    Py_XDECREF(key);
    Py_XDECREF(entry);
    for (int index = 0; index < 8; index++) {
        Py_XDECREF(names[index]);
    }
    return outcome;
}

static void forget(Previous *previous) {
    Py_CLEAR(previous->metric);
    for (int index = 0; index < 8; index++) {
        Py_CLEAR(previous->names[index]);
    }
}

/* The series of a request (field 1 of both requests); with `watch_version` non-NULL (NotifySamples), the varint
   fields 2 and 3 are read into it and `changes_accepted` too. */
static PyObject *decode_request(const Mode *mode, Py_buffer *payload, int64_t *watch_version, int *changes_accepted) {
    Reader request = {(const uint8_t *)payload->buf, (const uint8_t *)payload->buf + payload->len};
    Previous previous = {0};
    Py_ssize_t points = 0;
    int outcome = DECODED, has_watch_version = 0, has_changes_accepted = 0; /* an empty request names no series */
    PyObject *batch = PyList_New(0);
    if (batch == NULL) {
        return NULL;
    }
    while (request.at < request.end) {
        uint32_t number;
        int wire_type;
        Reader series;
        if (!read_field(&request, &number, &wire_type, &series)) {
            outcome = DECLINED;
            break;
        }
        if (number == 2 && wire_type == VARINT && watch_version != NULL && !has_watch_version) {
            uint64_t version;
            has_watch_version = read_varint(&request, &version);
            *watch_version = (int64_t)version;
            outcome = has_watch_version ? DECODED : DECLINED;
            if (outcome == DECLINED) {
                break;
            }
            continue;
        }
        if (number == 3 && wire_type == VARINT && watch_version != NULL && !has_changes_accepted) {
            uint64_t accepted;
            has_changes_accepted = read_varint(&request, &accepted);
            /* Canonical encoding only: a bool is 0 or 1 (protobuf reads anything else as true; declined, it does here too). */
            if (!has_changes_accepted || accepted > 1) {
                outcome = DECLINED;
                break;
            }
            *changes_accepted = (int)accepted;
            continue;
        }
        if (number != 1 || wire_type != LENGTH_DELIMITED) {
            outcome = DECLINED;
            break;
        }
        outcome = decode_series(mode, &series, batch, &previous, &points);
        if (outcome != DECODED || (mode->checked && points > settings.max_points)) {
            outcome = outcome == DECODED ? DECLINED : outcome;
            break;
        }
    }
    forget(&previous);
    if (outcome == FAILED) {
        Py_DECREF(batch);
        return NULL;
    }
    if (outcome == DECLINED || (mode->checked && PyList_GET_SIZE(batch) == 0)) {
        Py_DECREF(batch);
        Py_RETURN_NONE;
    }
    return batch;
}

static PyObject *decode_put_samples(PyObject *module, PyObject *args) {
    Py_buffer payload;
    Mode mode = {1, settings.series_key, settings.series_points, 0.0, 0.0};
    if (settings.series_key == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "configure() was not called");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*dd:decode_put_samples", &payload, &mode.now, &mode.latest_allowed)) {
        return NULL;
    }
    PyObject *batch = decode_request(&mode, &payload, NULL, NULL);
    PyBuffer_Release(&payload);
    return batch;
}

static PyObject *decode_notified_series(PyObject *module, PyObject *args) {
    Py_buffer payload;
    Mode mode = {0, &PyTuple_Type, &PyTuple_Type, 0.0, 0.0};
    int64_t watch_version = 0;
    int changes_accepted = 0;
    if (!PyArg_ParseTuple(args, "y*:decode_notified_series", &payload)) {
        return NULL;
    }
    PyObject *series = decode_request(&mode, &payload, &watch_version, &changes_accepted);
    PyBuffer_Release(&payload);
    if (series == NULL || series == Py_None) {
        return series;
    }
    PyObject *answer = Py_BuildValue("(NLN)", series, (long long)watch_version, PyBool_FromLong(changes_accepted));
    return answer;
}

/* The doubles of column `column` (1: times, 2: values) of every series of `batch`, concatenated
   in this machine's byte order, into `out` (allocated here). */
static int concatenate_column(PyObject *batch, Py_ssize_t column, PyObject **out) {
    Py_ssize_t count = PyList_GET_SIZE(batch), total = 0;
    for (Py_ssize_t index = 0; index < count; index++) {
        PyObject *series = PyList_GET_ITEM(batch, index);
        if (!PyTuple_Check(series) || PyTuple_GET_SIZE(series) <= column || !PyList_Check(PyTuple_GET_ITEM(series, column))) {
            PyErr_SetString(PyExc_TypeError, "columns() takes a list of SeriesPoints whose times and values are lists");
            return FAILED;
        }
        total += PyList_GET_SIZE(PyTuple_GET_ITEM(series, column));
    }
    *out = PyBytes_FromStringAndSize(NULL, total * (Py_ssize_t)sizeof(double));
    if (*out == NULL) {
        return FAILED;
    }
    double *into = (double *)PyBytes_AS_STRING(*out);
    for (Py_ssize_t index = 0; index < count; index++) {
        PyObject *items = PyTuple_GET_ITEM(PyList_GET_ITEM(batch, index), column);
        Py_ssize_t length = PyList_GET_SIZE(items);
        for (Py_ssize_t position = 0; position < length; position++) {
            PyObject *item = PyList_GET_ITEM(items, position);
            double value = PyFloat_CheckExact(item) ? PyFloat_AS_DOUBLE(item) : PyFloat_AsDouble(item);
            if (value == -1.0 && PyErr_Occurred()) {
                Py_CLEAR(*out);
                return FAILED;
            }
            *into++ = value;
        }
    }
    return DECODED;
}

static PyObject *columns(PyObject *module, PyObject *batch) {
    PyObject *times = NULL, *values = NULL;
    if (!PyList_Check(batch)) {
        PyErr_SetString(PyExc_TypeError, "columns() takes a list of SeriesPoints");
        return NULL;
    }
    if (concatenate_column(batch, 1, &times) != DECODED || concatenate_column(batch, 2, &values) != DECODED) {
        Py_XDECREF(times);
        return NULL;
    }
    return Py_BuildValue("(NN)", times, values);
}

/* NotifySamplesRequest: series = 1 (TimeSeries), watch_version = 2; TimeSeries.points = 3; Point.value = 1
   (double). Fixed here; services.metrics.messages builds the same bytes from the descriptors, and the
   tests hold the two to the same output. */
enum { NOTIFY_SERIES_TAG = 1 << 3 | LENGTH_DELIMITED, NOTIFY_VERSION_TAG = 2 << 3 | VARINT,
       POINTS_TAG = 3 << 3 | LENGTH_DELIMITED, VALUE_TAG = 1 << 3 | FIXED64, POINT_SIZE = 1 + 8 };

static uint8_t *write_varint(uint8_t *out, uint64_t number) {
    while (number > 0x7F) {
        *out++ = (uint8_t)(number & 0x7F) | 0x80;
        number >>= 7;
    }
    *out++ = (uint8_t)number;
    return out;
}

static uint8_t *write_point(uint8_t *out, double value) {
    *out++ = POINTS_TAG;
    *out++ = POINT_SIZE;
    *out++ = VALUE_TAG;
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    for (int byte = 0; byte < 8; byte++) { /* little-endian, whatever this machine's order */
        *out++ = (uint8_t)(bits >> (8 * byte));
    }
    return out;
}

static PyObject *encode_notify_samples(PyObject *module, PyObject *args) {
    PyObject *series;
    long long watch_version;
    if (!PyArg_ParseTuple(args, "O!L:encode_notify_samples", &PyList_Type, &series, &watch_version)) {
        return NULL;
    }
    if (watch_version < 0) {
        PyErr_SetString(PyExc_ValueError, "watch_version must not be negative");
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(series), size = 11; /* the version's tag and varint at most */
    for (Py_ssize_t index = 0; index < count; index++) {
        PyObject *entry = PyList_GET_ITEM(series, index);
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 3 || !PyBytes_Check(PyTuple_GET_ITEM(entry, 0))) {
            PyErr_SetString(PyExc_TypeError, "encode_notify_samples() takes a list of (header bytes, lowest, highest)");
            return NULL;
        }
        size += 1 + 10 + PyBytes_GET_SIZE(PyTuple_GET_ITEM(entry, 0)) + 2 * (2 + POINT_SIZE);
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL) {
        return NULL;
    }
    uint8_t *at = (uint8_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t index = 0; index < count; index++) {
        PyObject *entry = PyList_GET_ITEM(series, index);
        PyObject *header = PyTuple_GET_ITEM(entry, 0);
        double lowest = PyFloat_AsDouble(PyTuple_GET_ITEM(entry, 1));
        double highest = PyFloat_AsDouble(PyTuple_GET_ITEM(entry, 2));
        if (PyErr_Occurred()) {
            Py_DECREF(out);
            return NULL;
        }
        Py_ssize_t header_size = PyBytes_GET_SIZE(header);
        int points = lowest == highest ? 1 : 2;
        *at++ = NOTIFY_SERIES_TAG;
        at = write_varint(at, (uint64_t)(header_size + points * (2 + POINT_SIZE)));
        memcpy(at, PyBytes_AS_STRING(header), (size_t)header_size);
        at += header_size;
        at = write_point(at, lowest);
        if (points == 2) {
            at = write_point(at, highest);
        }
    }
    if (watch_version != 0) {
        *at++ = NOTIFY_VERSION_TAG;
        at = write_varint(at, (uint64_t)watch_version);
    }
    if (_PyBytes_Resize(&out, (Py_ssize_t)(at - (uint8_t *)PyBytes_AS_STRING(out))) < 0) {
        return NULL;
    }
    return out;
}

/* One column of doubles, from an array('d') (any C-contiguous buffer of doubles) or a list of floats. */
typedef struct {
    Py_buffer view;
    int has_view;
    PyObject *list;
    const double *doubles;
    Py_ssize_t length;
} Column;

static int open_column(PyObject *items, Column *column) {
    column->has_view = 0;
    column->list = NULL;
    column->doubles = NULL;
    if (PyList_Check(items)) {
        column->list = items;
        column->length = PyList_GET_SIZE(items);
        return 0;
    }
    if (PyObject_GetBuffer(items, &column->view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        return -1;
    }
    column->has_view = 1;
    if (column->view.format == NULL || strcmp(column->view.format, "d") != 0) {
        PyBuffer_Release(&column->view);
        column->has_view = 0;
        PyErr_SetString(PyExc_TypeError, "a column must be a buffer of doubles or a list of floats");
        return -1;
    }
    column->doubles = (const double *)column->view.buf;
    column->length = column->view.len / (Py_ssize_t)sizeof(double);
    return 0;
}

static double column_at(const Column *column, Py_ssize_t index) {
    return column->doubles != NULL ? column->doubles[index] : PyFloat_AsDouble(PyList_GET_ITEM(column->list, index));
}

static void close_column(Column *column) {
    if (column->has_view) {
        PyBuffer_Release(&column->view);
        column->has_view = 0;
    }
}

/* The least and the greatest of a non-empty array('d') (any C-contiguous buffer of doubles) or list of floats,
   as min() and max() give them for finite values (the first of equal ones). */
static PyObject *bounds(PyObject *module, PyObject *items) {
    Column column;
    if (open_column(items, &column) < 0) {
        return NULL;
    }
    if (column.length == 0) {
        close_column(&column);
        PyErr_SetString(PyExc_ValueError, "bounds() of an empty sequence");
        return NULL;
    }
    double least = 0.0, greatest = 0.0;
    for (Py_ssize_t index = 0; index < column.length; index++) {
        double value = column_at(&column, index);
        if (value == -1.0 && PyErr_Occurred()) {
            close_column(&column);
            return NULL;
        }
        if (index == 0 || value < least) {
            least = value;
        }
        if (index == 0 || value > greatest) {
            greatest = value;
        }
    }
    close_column(&column);
    return Py_BuildValue("(dd)", least, greatest);
}

/* A bucket's place: [count, sum, minimum, maximum]. Sets the item, taking the new reference. */
static int set_number(PyObject *bucket, Py_ssize_t place, PyObject *number) {
    if (number == NULL) {
        return -1;
    }
    PyList_SET_ITEM(bucket, place, number);  /* steals; the old item is released by the caller */
    return 0;
}

static int replace_number(PyObject *bucket, Py_ssize_t place, PyObject *number) {
    PyObject *old = PyList_GET_ITEM(bucket, place);
    if (set_number(bucket, place, number) < 0) {
        return -1;
    }
    Py_DECREF(old);
    return 0;
}

#define ALL_POINTS (-1)

/* PeriodSummaries.add_points over the first `count` points (ALL_POINTS: every one): each point in [start, end) joins the bucket of its period
   (floor(time / period)), a list [count, sum, minimum, maximum] made or updated as the Python code does. */
static int add_columns(PyObject *buckets, PyObject *times_object, PyObject *values_object, Py_ssize_t count, double start, double end,
                       double period) {
    Column times, values;
    if (open_column(times_object, &times) < 0) {
        return -1;
    }
    if (open_column(values_object, &values) < 0) {
        close_column(&times);
        return -1;
    }
    if (count == ALL_POINTS) {
        count = values.length;
    }
    if (count < 0 || count > times.length || count > values.length) {
        close_column(&times);
        close_column(&values);
        PyErr_SetString(PyExc_ValueError, "add_to_periods: count beyond the columns");
        return -1;
    }
    PyObject *result = Py_None;
    for (Py_ssize_t index = 0; index < count; index++) {
        double time = column_at(&times, index);
        double value = column_at(&values, index);
        if (PyErr_Occurred()) {
            result = NULL;
            break;
        }
        if (!(start <= time && time < end)) {
            continue;
        }
        PyObject *key = PyLong_FromDouble(floor(time / period));
        if (key == NULL) {
            result = NULL;
            break;
        }
        PyObject *bucket = PyDict_GetItemWithError(buckets, key);
        if (bucket == NULL) {
            if (PyErr_Occurred()) {
                Py_DECREF(key);
                result = NULL;
                break;
            }
            bucket = PyList_New(4);
            int failed = bucket == NULL || set_number(bucket, 0, PyLong_FromLong(1)) < 0 || set_number(bucket, 1, PyFloat_FromDouble(value)) < 0 ||
                         set_number(bucket, 2, PyFloat_FromDouble(value)) < 0 || set_number(bucket, 3, PyFloat_FromDouble(value)) < 0 ||
                         PyDict_SetItem(buckets, key, bucket) < 0;
            Py_XDECREF(bucket);
            Py_DECREF(key);
            if (failed) {
                result = NULL;
                break;
            }
            continue;
        }
        Py_DECREF(key);
        if (!PyList_Check(bucket) || PyList_GET_SIZE(bucket) != 4) {
            PyErr_SetString(PyExc_TypeError, "add_to_periods: a bucket must be a list [count, sum, minimum, maximum]");
            result = NULL;
            break;
        }
        /* As Python's `bucket[0] += 1; bucket[1] += value`, then the comparisons (a NaN never replaces a bound). */
        Py_ssize_t counted = PyLong_AsSsize_t(PyList_GET_ITEM(bucket, 0));
        double summed = PyFloat_AsDouble(PyList_GET_ITEM(bucket, 1));
        double least = PyFloat_AsDouble(PyList_GET_ITEM(bucket, 2));
        double greatest = PyFloat_AsDouble(PyList_GET_ITEM(bucket, 3));
        if (PyErr_Occurred() || replace_number(bucket, 0, PyLong_FromSsize_t(counted + 1)) < 0 ||
            replace_number(bucket, 1, PyFloat_FromDouble(summed + value)) < 0 ||
            (value < least && replace_number(bucket, 2, PyFloat_FromDouble(value)) < 0) ||
            (value > greatest && replace_number(bucket, 3, PyFloat_FromDouble(value)) < 0)) {
            result = NULL;
            break;
        }
    }
    close_column(&times);
    close_column(&values);
    return result == NULL ? -1 : 0;
}

static PyObject *add_to_periods(PyObject *module, PyObject *args) {
    PyObject *buckets, *times, *values;
    Py_ssize_t count;
    double start, end, period;
    if (!PyArg_ParseTuple(args, "O!OOnddd:add_to_periods", &PyDict_Type, &buckets, &times, &values, &count, &start, &end, &period)) {
        return NULL;
    }
    if (count < 0) {
        PyErr_SetString(PyExc_ValueError, "add_to_periods: a negative count");
        return NULL;
    }
    if (add_columns(buckets, times, values, count, start, end, period) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* add_to_periods of every point each series holds in each source (a dict of series id -> (times, values)), series by series
   in the order given, sources in the order given: the summaries of one statistics query over points held in memory. */
static PyObject *add_series_to_periods(PyObject *module, PyObject *args) {
    PyObject *buckets, *sources, *series_ids;
    double start, end, period;
    if (!PyArg_ParseTuple(args, "O!O!O!ddd:add_series_to_periods", &PyDict_Type, &buckets, &PyList_Type, &sources, &PyList_Type, &series_ids,
                          &start, &end, &period)) {
        return NULL;
    }
    for (Py_ssize_t index = 0; index < PyList_GET_SIZE(series_ids); index++) {
        PyObject *series_id = PyList_GET_ITEM(series_ids, index);
        for (Py_ssize_t place = 0; place < PyList_GET_SIZE(sources); place++) {
            PyObject *source = PyList_GET_ITEM(sources, place);
            if (!PyDict_Check(source)) {
                PyErr_SetString(PyExc_TypeError, "add_series_to_periods: each source must be a dict");
                return NULL;
            }
            PyObject *columns = PyDict_GetItemWithError(source, series_id);
            if (columns == NULL) {
                if (PyErr_Occurred()) {
                    return NULL;
                }
                continue;
            }
            if (!PyTuple_Check(columns) || PyTuple_GET_SIZE(columns) != 2) {
                PyErr_SetString(PyExc_TypeError, "add_series_to_periods: a series' columns must be a (times, values) tuple");
                return NULL;
            }
            if (add_columns(buckets, PyTuple_GET_ITEM(columns, 0), PyTuple_GET_ITEM(columns, 1), ALL_POINTS, start, end, period) < 0) {
                return NULL;
            }
        }
    }
    Py_RETURN_NONE;
}

/* Statistics on the wire: the BatchGetStatisticsRequest an alarm sweep sends and the BatchGetStatisticsResponse the
   metrics service answers, written straight from plain tuples (protobuf's objects, a message per query, per map
   entry, per datapoint and per time, cost more than everything else either side does with them). The field numbers
   are fixed here; services.alarm.statistics_client and services.metrics.messages build the same messages through
   protobuf, and the tests hold both to the same messages.

   GetStatisticsRequest: metric = 1, dimensions = 2 (map entry: key = 1, value = 2), statistic = 3, period = 4
   (Duration), start_time = 5, end_time = 6 (Timestamp); Duration and Timestamp: seconds = 1, nanos = 2.
   GetStatisticsResponse: datapoints = 1; Datapoint: start_time = 1, value = 2 (double), sample_count = 3.
   Both batches: their messages repeated as field 1. */

static Py_ssize_t varint_size(uint64_t number) {
    Py_ssize_t size = 1;
    while (number > 0x7F) {
        number >>= 7;
        size++;
    }
    return size;
}

/* A field's tag and length prefix, and the field's size in all. */
static Py_ssize_t delimited_size(Py_ssize_t inner) {
    return 1 + varint_size((uint64_t)inner) + inner;
}

/* Seconds and nanos of a time or a duration as autoscale.timeutil gives them: whole seconds (floor for a time, toward
   zero for a duration), nanos rounded half to even, a rounding up to the next whole second carried into it. */
typedef struct {
    int64_t seconds;
    int32_t nanos;
} Moment;

static int to_moment(double seconds, int is_duration, Moment *moment) {
    if (!isfinite(seconds) || fabs(seconds) >= 9.2e18) {
        PyErr_SetString(PyExc_ValueError, "a time or duration must be finite and within int64 seconds");
        return -1;
    }
    double whole = is_duration ? trunc(seconds) : floor(seconds);
    double nanos = nearbyint((seconds - whole) * 1e9);
    if (nanos >= 1e9) {
        whole += 1;
        nanos -= 1e9;
    } else if (nanos <= -1e9) {
        whole -= 1;
        nanos += 1e9;
    }
    moment->seconds = (int64_t)whole;
    moment->nanos = (int32_t)nanos;
    return 0;
}

static Py_ssize_t moment_inner_size(const Moment *moment) {
    return (moment->seconds != 0 ? 1 + varint_size((uint64_t)moment->seconds) : 0) +
           (moment->nanos != 0 ? 1 + varint_size((uint64_t)(int64_t)moment->nanos) : 0);
}

static uint8_t *write_moment(uint8_t *out, uint8_t tag, const Moment *moment) {
    *out++ = tag;
    out = write_varint(out, (uint64_t)moment_inner_size(moment));
    if (moment->seconds != 0) {
        *out++ = 1 << 3 | VARINT;
        out = write_varint(out, (uint64_t)moment->seconds);
    }
    if (moment->nanos != 0) {
        *out++ = 2 << 3 | VARINT;
        out = write_varint(out, (uint64_t)(int64_t)moment->nanos); /* int32 negatives go as ten bytes, as protobuf writes them */
    }
    return out;
}

static uint8_t *write_text(uint8_t *out, uint8_t tag, const char *text, Py_ssize_t length) {
    *out++ = tag;
    out = write_varint(out, (uint64_t)length);
    memcpy(out, text, (size_t)length);
    return out + length;
}

/* One query, read from its tuple (metric, dimension pairs, statistic number, period, start, end). */
typedef struct {
    const char *metric;
    Py_ssize_t metric_length;
    PyObject *pairs;
    long long statistic;
    Moment period, start, end;
    Py_ssize_t size; /* of the GetStatisticsRequest */
} Query;

static int read_query(PyObject *entry, Query *query) {
    double period, start, end;
    PyObject *metric;
    if (!PyTuple_Check(entry) || !PyArg_ParseTuple(entry, "UO!Lddd", &metric, &PyTuple_Type, &query->pairs, &query->statistic, &period,
                                                    &start, &end)) {
        if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_TypeError, "encode_statistics_queries() takes a list of (metric, dimension pairs, statistic, period, start, end)");
        }
        return -1;
    }
    query->metric = PyUnicode_AsUTF8AndSize(metric, &query->metric_length);
    if (query->metric == NULL || to_moment(period, 1, &query->period) < 0 || to_moment(start, 0, &query->start) < 0 ||
        to_moment(end, 0, &query->end) < 0) {
        return -1;
    }
    Py_ssize_t size = query->metric_length > 0 ? delimited_size(query->metric_length) : 0;
    for (Py_ssize_t index = 0; index < PyTuple_GET_SIZE(query->pairs); index++) {
        PyObject *pair = PyTuple_GET_ITEM(query->pairs, index);
        Py_ssize_t name_length, value_length;
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(pair, 0)) ||
            !PyUnicode_Check(PyTuple_GET_ITEM(pair, 1))) {
            PyErr_SetString(PyExc_TypeError, "dimension pairs must be (name, value) tuples of str");
            return -1;
        }
        if (PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(pair, 0), &name_length) == NULL ||
            PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(pair, 1), &value_length) == NULL) {
            return -1;
        }
        size += delimited_size(delimited_size(name_length) + delimited_size(value_length));
    }
    if (query->statistic < 0 || query->statistic > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "a statistic must be a Statistic enum number");
        return -1;
    }
    size += query->statistic != 0 ? 1 + varint_size((uint64_t)query->statistic) : 0;
    size += delimited_size(moment_inner_size(&query->period)) + delimited_size(moment_inner_size(&query->start)) +
            delimited_size(moment_inner_size(&query->end));
    query->size = size;
    return 0;
}

static uint8_t *write_query(uint8_t *out, const Query *query) {
    *out++ = 1 << 3 | LENGTH_DELIMITED; /* BatchGetStatisticsRequest.requests */
    out = write_varint(out, (uint64_t)query->size);
    if (query->metric_length > 0) {
        out = write_text(out, 1 << 3 | LENGTH_DELIMITED, query->metric, query->metric_length);
    }
    for (Py_ssize_t index = 0; index < PyTuple_GET_SIZE(query->pairs); index++) {
        PyObject *pair = PyTuple_GET_ITEM(query->pairs, index);
        Py_ssize_t name_length, value_length;
        const char *name = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(pair, 0), &name_length); /* cached by read_query */
        const char *value = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(pair, 1), &value_length);
        *out++ = 2 << 3 | LENGTH_DELIMITED;
        out = write_varint(out, (uint64_t)(delimited_size(name_length) + delimited_size(value_length)));
        out = write_text(out, 1 << 3 | LENGTH_DELIMITED, name, name_length);
        out = write_text(out, 2 << 3 | LENGTH_DELIMITED, value, value_length);
    }
    if (query->statistic != 0) {
        *out++ = 3 << 3 | VARINT;
        out = write_varint(out, (uint64_t)query->statistic);
    }
    out = write_moment(out, 4 << 3 | LENGTH_DELIMITED, &query->period);
    out = write_moment(out, 5 << 3 | LENGTH_DELIMITED, &query->start);
    return write_moment(out, 6 << 3 | LENGTH_DELIMITED, &query->end);
}

static PyObject *encode_statistics_queries(PyObject *module, PyObject *queries) {
    if (!PyList_Check(queries)) {
        PyErr_SetString(PyExc_TypeError, "encode_statistics_queries() takes a list");
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(queries), size = 0;
    Query *read = PyMem_Calloc((size_t)(count > 0 ? count : 1), sizeof(Query));
    if (read == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *out = NULL;
    for (Py_ssize_t index = 0; index < count; index++) {
        if (read_query(PyList_GET_ITEM(queries, index), &read[index]) < 0) {
            goto done;
        }
        size += delimited_size(read[index].size);
    }
    out = PyBytes_FromStringAndSize(NULL, size);
    if (out != NULL) {
        uint8_t *at = (uint8_t *)PyBytes_AS_STRING(out);
        for (Py_ssize_t index = 0; index < count; index++) {
            at = write_query(at, &read[index]);
        }
    }
done:
    PyMem_Free(read);
    return out;
}

/* A Datapoint's size: its start as a Timestamp, its value unless 0.0 (proto3 leaves defaults out), its count unless 0. */
static Py_ssize_t datapoint_size(const Moment *start, double value, long long count) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return delimited_size(moment_inner_size(start)) + (bits != 0 ? 9 : 0) + (count != 0 ? 1 + varint_size((uint64_t)count) : 0);
}

static int read_datapoint(PyObject *entry, Moment *start, double *value, long long *count) {
    double time;
    if (!PyTuple_Check(entry) || !PyArg_ParseTuple(entry, "ddL", &time, value, count)) {
        if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_TypeError, "encode_statistics_answers() takes a list of lists of (start, value, sample count)");
        }
        return -1;
    }
    return to_moment(time, 0, start);
}

static PyObject *encode_statistics_answers(PyObject *module, PyObject *answers) {
    if (!PyList_Check(answers)) {
        PyErr_SetString(PyExc_TypeError, "encode_statistics_answers() takes a list");
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(answers), size = 0;
    Py_ssize_t *sizes = PyMem_Calloc((size_t)(count > 0 ? count : 1), sizeof(Py_ssize_t));
    if (sizes == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *out = NULL;
    for (Py_ssize_t index = 0; index < count; index++) {
        PyObject *datapoints = PyList_GET_ITEM(answers, index);
        if (!PyList_Check(datapoints)) {
            PyErr_SetString(PyExc_TypeError, "encode_statistics_answers() takes a list of lists of (start, value, sample count)");
            goto done;
        }
        for (Py_ssize_t place = 0; place < PyList_GET_SIZE(datapoints); place++) {
            Moment start;
            double value;
            long long sample_count;
            if (read_datapoint(PyList_GET_ITEM(datapoints, place), &start, &value, &sample_count) < 0) {
                goto done;
            }
            sizes[index] += delimited_size(datapoint_size(&start, value, sample_count));
        }
        size += delimited_size(sizes[index]);
    }
    out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL) {
        goto done;
    }
    uint8_t *at = (uint8_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t index = 0; index < count; index++) {
        PyObject *datapoints = PyList_GET_ITEM(answers, index);
        *at++ = 1 << 3 | LENGTH_DELIMITED; /* BatchGetStatisticsResponse.responses */
        at = write_varint(at, (uint64_t)sizes[index]);
        for (Py_ssize_t place = 0; place < PyList_GET_SIZE(datapoints); place++) {
            Moment start;
            double value;
            long long sample_count;
            read_datapoint(PyList_GET_ITEM(datapoints, place), &start, &value, &sample_count); /* read once already */
            *at++ = 1 << 3 | LENGTH_DELIMITED; /* GetStatisticsResponse.datapoints */
            at = write_varint(at, (uint64_t)datapoint_size(&start, value, sample_count));
            at = write_moment(at, 1 << 3 | LENGTH_DELIMITED, &start);
            uint64_t bits;
            memcpy(&bits, &value, sizeof bits);
            if (bits != 0) {
                *at++ = 2 << 3 | FIXED64;
                for (int byte = 0; byte < 8; byte++) {
                    *at++ = (uint8_t)(bits >> (8 * byte));
                }
            }
            if (sample_count != 0) {
                *at++ = 3 << 3 | VARINT;
                at = write_varint(at, (uint64_t)sample_count);
            }
        }
    }
done:
    PyMem_Free(sizes);
    return out;
}

/* What a decoder answers: the list it read when DECODED, None when DECLINED, NULL (the exception set) when FAILED. */
static PyObject *decoded_or_none(int outcome, PyObject *decoded) {
    if (outcome == DECODED) {
        return decoded;
    }
    Py_XDECREF(decoded);
    if (outcome == FAILED) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* A Timestamp or Duration message: its seconds and nanos (each at most once, varints); 0 when not canonical. */
static int read_moment(Reader *message, int64_t *seconds, int64_t *nanos) {
    uint64_t value;
    int has_seconds = 0, has_nanos = 0;
    *seconds = 0;
    *nanos = 0;
    while (message->at < message->end) {
        uint32_t number;
        int wire_type;
        Reader unused;
        if (!read_field(message, &number, &wire_type, &unused) || wire_type != VARINT || !read_varint(message, &value)) {
            return 0;
        }
        if (number == 1 && !has_seconds) {
            *seconds = (int64_t)value;
            has_seconds = 1;
        } else if (number == 2 && !has_nanos) {
            *nanos = (int32_t)(uint32_t)value; /* an int32 field: protobuf keeps the low 32 bits */
            has_nanos = 1;
        } else {
            return 0;
        }
    }
    return 1;
}

/* A Timestamp as check_timestamp accepts it (seconds >= 0, 0 <= nanos < 1e9), in seconds; 0 when it is not. */
static int plain_time(Reader *message, double *time) {
    int64_t seconds, nanos;
    if (!read_moment(message, &seconds, &nanos) || seconds < 0 || nanos < 0 || nanos >= 1000000000) {
        return 0;
    }
    *time = (double)seconds + (double)nanos / 1e9;
    return 1;
}

/* Reads each message of a batch's repeated field 1 (its only field) into `into`; DECODED, DECLINED or FAILED. */
typedef int (*MessageDecoder)(const void *context, Reader *message, PyObject *into);

/* `decode` of each message of field 1 in `reader`, at most `limit` of them (-1: any number); DECLINED at another field. */
static int decode_each(Reader *reader, Py_ssize_t limit, MessageDecoder decode, const void *context, PyObject *into) {
    int outcome = DECODED;
    for (Py_ssize_t count = 0; outcome == DECODED && reader->at < reader->end; count++) {
        uint32_t number;
        int wire_type;
        Reader message;
        if (!read_field(reader, &number, &wire_type, &message) || number != 1 || wire_type != LENGTH_DELIMITED ||
            (limit >= 0 && count >= limit)) {
            return DECLINED;
        }
        outcome = decode(context, &message, into);
    }
    return outcome;
}

/* What decode_statistics_queries is given besides the bytes. */
typedef struct {
    PyTypeObject *query_type;
    PyObject *statistics; /* a tuple: the Statistic of each enum number, None where there is none */
    double now;
    double max_periods;
    double default_window;
} QueryRules;

/* One GetStatisticsRequest that plainly keeps every rule of services.metrics.rules.check_get_statistics, as a
   StatisticsQuery appended to `queries`; DECLINED for anything else (the rules then say what is wrong). */
static int decode_query(const void *context, Reader *request, PyObject *queries) {
    const QueryRules *rules = context;
    Reader metric_field = {NULL, NULL}, period_field, start_field, end_field;
    int has_metric = 0, has_statistic = 0, has_period = 0, has_start = 0, has_end = 0, outcome = FAILED;
    uint64_t statistic = 0;
    PyObject *pairs = PyList_New(0), *metric = NULL, *dimensions = NULL, *query = NULL;
    if (pairs == NULL) {
        return FAILED;
    }
    while (request->at < request->end) {
        uint32_t number;
        int wire_type;
        Reader field;
        if (!read_field(request, &number, &wire_type, &field)) {
            outcome = DECLINED;
            goto done;
        }
        if (number == 3 && wire_type == VARINT && !has_statistic) {
            if (!read_varint(request, &statistic)) {
                outcome = DECLINED;
                goto done;
            }
            has_statistic = 1;
            continue;
        }
        if (wire_type != LENGTH_DELIMITED) {
            outcome = DECLINED;
            goto done;
        }
        if (number == 1 && !has_metric) {
            metric_field = field;
            has_metric = 1;
        } else if (number == 2) {
            Reader name_field = {NULL, NULL}, value_field = {NULL, NULL};
            int has_name = 0, has_value = 0;
            while (field.at < field.end) {
                uint32_t entry_number;
                int entry_wire_type;
                Reader entry_field;
                if (!read_field(&field, &entry_number, &entry_wire_type, &entry_field) || entry_wire_type != LENGTH_DELIMITED) {
                    outcome = DECLINED;
                    goto done;
                }
                if (entry_number == 1 && !has_name) {
                    name_field = entry_field;
                    has_name = 1;
                } else if (entry_number == 2 && !has_value) {
                    value_field = entry_field;
                    has_value = 1;
                } else {
                    outcome = DECLINED;
                    goto done;
                }
            }
            if (!has_name || name_field.at == name_field.end) {
                outcome = DECLINED; /* an empty name breaks a rule */
                goto done;
            }
            PyObject *name = read_string(&name_field);
            PyObject *value = name == NULL ? NULL : has_value ? read_string(&value_field) : PyUnicode_New(0, 0);
            if (name == NULL || value == NULL) {
                Py_XDECREF(name);
                outcome = PyErr_Occurred() ? FAILED : DECLINED;
                goto done;
            }
            int bounded = bounded_text(name, settings.max_dimension_length) && bounded_text(value, settings.max_dimension_length);
            PyObject *pair = bounded ? PyTuple_Pack(2, name, value) : NULL;
            Py_DECREF(name);
            Py_DECREF(value);
            if (!bounded) {
                outcome = DECLINED;
                goto done;
            }
            if (pair == NULL || PyList_Append(pairs, pair) < 0) {
                Py_XDECREF(pair);
                goto done;
            }
            Py_DECREF(pair);
        } else if (number == 4 && !has_period) {
            period_field = field;
            has_period = 1;
        } else if (number == 5 && !has_start) {
            start_field = field;
            has_start = 1;
        } else if (number == 6 && !has_end) {
            end_field = field;
            has_end = 1;
        } else {
            outcome = DECLINED;
            goto done;
        }
    }
    outcome = DECLINED;
    if (!has_metric || !has_period || statistic >= (uint64_t)PyTuple_GET_SIZE(rules->statistics) ||
        PyTuple_GET_ITEM(rules->statistics, (Py_ssize_t)statistic) == Py_None) {
        goto done;
    }
    int64_t period_seconds, period_nanos;
    if (!read_moment(&period_field, &period_seconds, &period_nanos) || period_seconds < 0 || period_nanos < 0) {
        goto done;
    }
    double period = (double)period_seconds + (double)period_nanos / 1e9, start, end = rules->now;
    if (!(period > 0) || (has_end && !plain_time(&end_field, &end))) {
        goto done;
    }
    if (has_start ? !plain_time(&start_field, &start) : (start = end - rules->default_window, 0)) {
        goto done;
    }
    if (!(start < end) || ceil((end - start) / period) > rules->max_periods) {
        goto done;
    }
    metric = read_string(&metric_field);
    if (metric == NULL) {
        outcome = PyErr_Occurred() ? FAILED : DECLINED;
        goto done;
    }
    Mode checked = {1, NULL, NULL, 0.0, 0.0};
    if (!metric_is_valid(&checked, metric)) {
        goto done;
    }
    outcome = FAILED;
    if (PyList_Sort(pairs) < 0) {
        goto done;
    }
    for (Py_ssize_t index = 1; index < PyList_GET_SIZE(pairs); index++) {
        int same = PyUnicode_Compare(PyTuple_GET_ITEM(PyList_GET_ITEM(pairs, index - 1), 0), PyTuple_GET_ITEM(PyList_GET_ITEM(pairs, index), 0));
        if (same == -1 && PyErr_Occurred()) {
            goto done;
        }
        if (same == 0) {
            outcome = DECLINED; /* a name twice: protobuf keeps the last value; leave that to it */
            goto done;
        }
    }
    dimensions = PyList_AsTuple(pairs);
    if (dimensions == NULL) {
        goto done;
    }
    query = rules->query_type->tp_alloc(rules->query_type, 6);
    if (query == NULL) {
        goto done;
    }
    PyObject *numbers[3] = {PyFloat_FromDouble(period), PyFloat_FromDouble(start), PyFloat_FromDouble(end)};
    if (numbers[0] == NULL || numbers[1] == NULL || numbers[2] == NULL) {
        Py_XDECREF(numbers[0]);
        Py_XDECREF(numbers[1]);
        Py_XDECREF(numbers[2]);
        goto done;
    }
    PyTuple_SET_ITEM(query, 0, Py_NewRef(metric));
    PyTuple_SET_ITEM(query, 1, Py_NewRef(dimensions));
    PyTuple_SET_ITEM(query, 2, Py_NewRef(PyTuple_GET_ITEM(rules->statistics, (Py_ssize_t)statistic)));
    PyTuple_SET_ITEM(query, 3, numbers[0]);
    PyTuple_SET_ITEM(query, 4, numbers[1]);
    PyTuple_SET_ITEM(query, 5, numbers[2]);
    outcome = PyList_Append(queries, query) < 0 ? FAILED : DECODED;
done:
    Py_DECREF(pairs);
    Py_XDECREF(metric);
    Py_XDECREF(dimensions);
    Py_XDECREF(query);
    return outcome;
}

static PyObject *decode_statistics_queries(PyObject *module, PyObject *args) {
    Py_buffer payload;
    QueryRules rules;
    Py_ssize_t max_queries;
    if (!PyArg_ParseTuple(args, "y*dO!O!ndd:decode_statistics_queries", &payload, &rules.now, &PyType_Type, &rules.query_type, &PyTuple_Type,
                          &rules.statistics, &max_queries, &rules.max_periods, &rules.default_window)) {
        return NULL;
    }
    if (!PyType_IsSubtype(rules.query_type, &PyTuple_Type) || settings.series_key == NULL) {
        PyBuffer_Release(&payload);
        PyErr_SetString(PyExc_TypeError, "StatisticsQuery must be a tuple type, and configure() called first");
        return NULL;
    }
    Reader reader = {(const uint8_t *)payload.buf, (const uint8_t *)payload.buf + payload.len};
    PyObject *queries = PyList_New(0);
    int outcome = queries == NULL ? FAILED : decode_each(&reader, max_queries, decode_query, &rules, queries);
    PyBuffer_Release(&payload);
    return decoded_or_none(outcome, queries);
}

/* A BatchGetStatisticsResponse as each query's datapoints, (start, value, sample count) of the `datapoint_type`
   (a NamedTuple); None when it is not in canonical encoding (protobuf then reads it). */
static int decode_datapoint(const void *context, Reader *message, PyObject *datapoints) {
    PyTypeObject *datapoint_type = (PyTypeObject *)context;
    double start = 0.0, value = 0.0;
    uint64_t count = 0;
    int has_start = 0, has_value = 0, has_count = 0;
    while (message->at < message->end) {
        uint32_t number;
        int wire_type;
        Reader field;
        if (!read_field(message, &number, &wire_type, &field)) {
            return DECLINED;
        }
        if (number == 1 && wire_type == LENGTH_DELIMITED && !has_start) {
            int64_t seconds, nanos;
            if (!read_moment(&field, &seconds, &nanos)) {
                return DECLINED;
            }
            start = (double)seconds + (double)nanos / 1e9; /* as the client's from_timestamp, whatever the values */
            has_start = 1;
        } else if (number == 2 && wire_type == FIXED64 && !has_value) {
            if (!read_double(message, &value)) {
                return DECLINED;
            }
            has_value = 1;
        } else if (number == 3 && wire_type == VARINT && !has_count) {
            if (!read_varint(message, &count)) {
                return DECLINED;
            }
            has_count = 1;
        } else {
            return DECLINED;
        }
    }
    PyObject *datapoint = datapoint_type->tp_alloc(datapoint_type, 3);
    if (datapoint == NULL) {
        return FAILED;
    }
    PyObject *items[3] = {PyFloat_FromDouble(start), PyFloat_FromDouble(value), PyLong_FromLongLong((long long)(int64_t)count)};
    for (int index = 0; index < 3; index++) {
        if (items[index] == NULL) {
            for (int other = 0; other < 3; other++) {
                Py_XDECREF(items[other]);
            }
            Py_DECREF(datapoint);
            return FAILED;
        }
    }
    for (int index = 0; index < 3; index++) {
        PyTuple_SET_ITEM(datapoint, index, items[index]);
    }
    int failed = PyList_Append(datapoints, datapoint) < 0;
    Py_DECREF(datapoint);
    return failed ? FAILED : DECODED;
}

/* One GetStatisticsResponse: the list of its datapoints appended to `answers`. */
static int decode_answer(const void *context, Reader *response, PyObject *answers) {
    PyObject *datapoints = PyList_New(0);
    if (datapoints == NULL || PyList_Append(answers, datapoints) < 0) {
        Py_XDECREF(datapoints);
        return FAILED;
    }
    Py_DECREF(datapoints); /* `answers` holds it */
    return decode_each(response, -1, decode_datapoint, context, datapoints);
}

static PyObject *decode_statistics_answers(PyObject *module, PyObject *args) {
    Py_buffer payload;
    PyTypeObject *datapoint_type;
    if (!PyArg_ParseTuple(args, "y*O!:decode_statistics_answers", &payload, &PyType_Type, &datapoint_type)) {
        return NULL;
    }
    if (!PyType_IsSubtype(datapoint_type, &PyTuple_Type)) {
        PyBuffer_Release(&payload);
        PyErr_SetString(PyExc_TypeError, "Datapoint must be a tuple type");
        return NULL;
    }
    Reader reader = {(const uint8_t *)payload.buf, (const uint8_t *)payload.buf + payload.len};
    PyObject *answers = PyList_New(0);
    int outcome = answers == NULL ? FAILED : decode_each(&reader, -1, decode_answer, datapoint_type, answers);
    PyBuffer_Release(&payload);
    return decoded_or_none(outcome, answers);
}

static PyObject *configure(PyObject *module, PyObject *args) {
    PyObject *series_key, *series_points;
    Settings given;
    if (!PyArg_ParseTuple(args, "O!O!nnnnn:configure", &PyType_Type, &series_key, &PyType_Type, &series_points, &given.max_metric_length,
                          &given.max_dimension_length, &given.max_dimensions, &given.max_dimensions_key_bytes, &given.max_points)) {
        return NULL;
    }
    if (!PyType_IsSubtype((PyTypeObject *)series_key, &PyTuple_Type) || !PyType_IsSubtype((PyTypeObject *)series_points, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "SeriesKey and SeriesPoints must be tuple types");
        return NULL;
    }
    Py_INCREF(series_key);
    Py_INCREF(series_points);
    Py_XDECREF(settings.series_key);
    Py_XDECREF(settings.series_points);
    given.series_key = (PyTypeObject *)series_key;
    given.series_points = (PyTypeObject *)series_points;
    settings = given;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"decode_put_samples", decode_put_samples, METH_VARARGS,
     "decode_put_samples(payload, now, latest_allowed) -> list of SeriesPoints, or None (not a valid request in canonical encoding)."},
    {"decode_notified_series", decode_notified_series, METH_VARARGS,
     "decode_notified_series(payload) -> ([((metric, dimension pairs), values), ...], watch_version), or None (see the source)."},
    {"columns", columns, METH_O,
     "columns(batch) -> (times, values): the doubles of every series' times and values concatenated, as bytes in this machine's order."},
    {"encode_notify_samples", encode_notify_samples, METH_VARARGS,
     "encode_notify_samples([(series header, lowest, highest), ...], watch_version) -> a serialized NotifySamplesRequest."},
    {"bounds", bounds, METH_O, "bounds(array of doubles or list of floats) -> (least, greatest), as min() and max() give them."},
    {"add_to_periods", add_to_periods, METH_VARARGS,
     "add_to_periods(buckets, times, values, count, start, end, period): PeriodSummaries.add_points over the first count points."},
    {"add_series_to_periods", add_series_to_periods, METH_VARARGS,
     "add_series_to_periods(buckets, sources, series_ids, start, end, period): add_to_periods of every point of each series in each source."},
    {"encode_statistics_queries", encode_statistics_queries, METH_O,
     "encode_statistics_queries([(metric, dimension pairs, statistic number, period, start, end), ...]) -> a serialized BatchGetStatisticsRequest."},
    {"encode_statistics_answers", encode_statistics_answers, METH_O,
     "encode_statistics_answers([[(start, value, sample count), ...] per query]) -> a serialized BatchGetStatisticsResponse."},
    {"decode_statistics_queries", decode_statistics_queries, METH_VARARGS,
     "decode_statistics_queries(payload, now, StatisticsQuery, statistics, max_queries, max_periods, default_window) -> list of StatisticsQuery, or None."},
    {"decode_statistics_answers", decode_statistics_answers, METH_VARARGS,
     "decode_statistics_answers(payload, Datapoint) -> each query's list of Datapoint(start, value, sample count), or None."},
    {"configure", configure, METH_VARARGS,
     "configure(SeriesKey, SeriesPoints, max_metric_length, max_dimension_length, max_dimensions, max_dimensions_key_bytes, max_points)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "_wire", "Time series read from the wire bytes of PutSamples and NotifySamples (see the C source).", -1, methods,
};

PyMODINIT_FUNC PyInit__wire(void) { return PyModule_Create(&module_definition); }
