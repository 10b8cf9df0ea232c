package io.finlake.flinkjob.model;

import java.util.Objects;

/** One validation error as written to dead-letter: which field, which check, what was expected and seen. */
public class ErrorDetail {
    public String field;
    public String rule;
    public String expected;
    public String actual;

    public ErrorDetail() {}

    public ErrorDetail(String field, String rule, String expected, String actual) {
        this.field = field;
        this.rule = rule;
        this.expected = expected;
        this.actual = actual;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ErrorDetail e
                && Objects.equals(field, e.field)
                && Objects.equals(rule, e.rule)
                && Objects.equals(expected, e.expected)
                && Objects.equals(actual, e.actual);
    }

    @Override
    public int hashCode() {
        return Objects.hash(field, rule, expected, actual);
    }

    @Override
    public String toString() {
        return field + ":" + rule + " expected=" + expected + " actual=" + actual;
    }
}
