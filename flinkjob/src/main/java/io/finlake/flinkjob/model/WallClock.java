package io.finlake.flinkjob.model;

import java.util.function.LongSupplier;

/**
 * The job's wall clock in epoch milliseconds, serializable so that operators can carry it; tests pass a fixed
 * one, the jobs {@code System::currentTimeMillis}.
 */
public interface WallClock extends LongSupplier, java.io.Serializable {}
