/**
 * The records that flow between the job's operators: a parsed raw record, a valid transaction, a rule
 * update from alert-rules, and an output record ready for a Kafka topic or a replay file. All are Flink
 * POJOs (public fields, no-arg constructor) so Flink serializes them without Kryo; Txn, the record of the keyed
 * exchange, has a serializer of its own ({@link io.finlake.flinkjob.model.TxnSerializer}) in the operator graph. Also what the
 * operators share besides records: the side-output tags ({@link io.finlake.flinkjob.model.Outputs}) and
 * the wall clock ({@link io.finlake.flinkjob.model.WallClock}), kept here so that validation and the
 * engine depend on this package and not on each other.
 */
package io.finlake.flinkjob.model;
