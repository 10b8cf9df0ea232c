package io.finlake.flinkjob.model;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.util.OutputTag;

/** Side outputs shared by the operators: the main output of the engine is transactions-processed. */
public final class Outputs {
    /** How OutRecord goes from the engine to its sinks: {@link OutRecordSerializer}, not the POJO serializer. */
    public static final TypeInformation<OutRecord> OUT_TYPE = new OwnType<>(OutRecord.class, OutRecordSerializer.INSTANCE);
    public static final OutputTag<OutRecord> ALERTS = new OutputTag<>("alerts", OUT_TYPE);
    public static final OutputTag<OutRecord> DEAD_LETTERS = new OutputTag<>("dead-letter", OUT_TYPE);

    private Outputs() {}
}
