package dev.asyncdiff.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.scheduler.async.InProcessCommunicatorProvider;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DenoiseBenchmarkTest {
    @TempDir
    Path dir;

    @Test
    void configurationsParse() {
        assertThat(BenchConfig.parse("sequential")).isEqualTo(new BenchConfig("sequential", true,
                AsyncConfig.SEQUENTIAL, 1, false));
        assertThat(BenchConfig.parse("n2s1c").calibrated()).isTrue();
        assertThat(BenchConfig.parse("n2s1").calibrated()).isFalse();
        assertThat(BenchConfig.parse("sequential-t2").intraOpThreads()).isEqualTo(2);
        BenchConfig async = BenchConfig.parse("n3s2w4");
        assertThat(async.async()).isEqualTo(new AsyncConfig(3, 2, 4, false));
        assertThat(async.devices()).isEqualTo(4);
        assertThat(BenchConfig.parse("n2s1").async().warmUp()).isEqualTo(1);
        assertThatThrownBy(() -> BenchConfig.parse("n2s3")).hasMessageContaining("expected sequential");
        BenchConfig cfg2 = BenchConfig.parse("cfg2");
        assertThat(cfg2.guidanceGroups()).isEqualTo(2);
        assertThat(cfg2.sequential()).isTrue();
        assertThat(cfg2.devices()).isEqualTo(2);
        BenchConfig cfgAsync = BenchConfig.parse("cfg2-n2s1");
        assertThat(cfgAsync.async()).isEqualTo(new AsyncConfig(2, 1, 1, false));
        assertThat(cfgAsync.devices()).isEqualTo(4);
    }

    @Test
    void timesEveryConfigurationSideBySide() {
        Path model = dir.resolve("sd21");
        SyntheticModels.write(Family.SD21, Scale.TINY, DType.FP32, 0, TokenizerKind.BPE, model);
        List<String> log = new ArrayList<>();
        DenoiseBenchmark.Report report = new DenoiseBenchmark(model, 8).run(
                List.of(Device.CPU, Device.cpu(1), Device.cpu(2)), 3,
                List.of(BenchConfig.parse("sequential"), BenchConfig.parse("n2s1"), BenchConfig.parse("n2s2"),
                        BenchConfig.parse("n2s1c"), BenchConfig.parse("cfg2")), 1, log::add);
        assertThat(report.results()).extracting(DenoiseBenchmark.Result::config)
                .containsExactly("sequential", "n2s1", "n2s2", "n2s1c", "cfg2");
        assertThat(report.results()).extracting(DenoiseBenchmark.Result::devices).containsExactly(1, 2, 3, 2, 2);
        assertThat(report.results().get(0).componentMillis()).isEmpty();
        assertThat(report.results().subList(1, 4)).allSatisfy(r -> {
            assertThat(r.componentMillis()).hasSize(2).doesNotContain(0.0);
            assertThat(java.util.Arrays.stream(r.componentMillis()).min().orElseThrow()).isPositive();
            assertThat(r.imbalancePercent()).isNotNegative();
        });
        assertThat(report.overheads()).extracting(DenoiseBenchmark.Overhead::config).containsExactly("sequential", "n2s1",
                "cfg2");
        assertThat(report.overheads()).allSatisfy(o -> assertThat(o.minPercent()).isFinite()
                .isLessThanOrEqualTo(o.medianPercent()).isLessThanOrEqualTo(o.maxPercent()));
        assertThat(report.results().get(0).speedup()).isEqualTo(1.0);
        assertThat(report.results()).allSatisfy(r -> assertThat(r.seconds()).isPositive());
        assertThat(report.overheadPercent()).isFinite();
        assertThat(log).contains("timing n2s1 …");
    }

    @Test
    void timesTheTransportInPairedRoundsAfterItsWarmUp() {
        Path model = dir.resolve("sd21-transport");
        SyntheticModels.write(Family.SD21, Scale.TINY, DType.FP32, 0, TokenizerKind.BPE, model);
        List<String> log = new ArrayList<>();
        DenoiseBenchmark.Transport t = new DenoiseBenchmark(model, 8).transport(new InProcessCommunicatorProvider(),
                List.of(Device.CPU, Device.cpu(1)), 3, 3, 1, log::add);
        assertThat(t.communicator()).isEqualTo("inprocess");
        assertThat(t.rounds()).isEqualTo(3);
        assertThat(t.steps()).isEqualTo(3);
        assertThat(t.warmUpRounds()).isEqualTo(1);
        assertThat(t.inProcessMillis()).isPositive();
        assertThat(t.transportMillis()).isPositive();
        assertThat(t.overheadPercent()).isBetween(t.minOverheadPercent(), t.maxOverheadPercent());
        // Ranks in one JVM hand tensors over as views: nothing is counted as moved, but the plan still is.
        assertThat(t.bytesPerStep()).isZero();
        assertThat(t.plannedBytesPerStep()).isPositive();
        assertThat(log).contains("warm-up round 1 of 1 …");
        assertThat(log).filteredOn(line -> line.matches("round \\d of 3: in process [0-9.]+ ms/step, over inprocess "
                + "[0-9.]+ ms/step")).hasSize(3);
        assertThatThrownBy(() -> new DenoiseBenchmark(model, 8).transport(new InProcessCommunicatorProvider(),
                List.of(Device.CPU), 3, 3, 1, line -> { })).hasMessageContaining("runs n2s1 on 2 devices");
    }

    @Test
    void benchmarksAnSd3TransformerWithItsOwnInputNames() {
        Path model = dir.resolve("sd3");
        SyntheticModels.write(Family.SD3, Scale.TINY, DType.FP32, 0, TokenizerKind.BPE, model);
        DenoiseBenchmark.Report report = new DenoiseBenchmark(model, 8).run(List.of(Device.CPU, Device.cpu(1)), 2,
                List.of(BenchConfig.parse("sequential"), BenchConfig.parse("n2s1")), 1, line -> { });
        assertThat(report.results()).extracting(DenoiseBenchmark.Result::config).containsExactly("sequential", "n2s1");
        assertThat(report.results().get(1).componentMillis()).hasSize(2);
        assertThat(java.util.Arrays.stream(report.results().get(1).componentMillis()).min().orElseThrow()).isPositive();
        assertThat(report.results()).allSatisfy(r -> assertThat(r.seconds()).isPositive());
    }

    @Test
    void tooFewDevicesIsAClearError() {
        Path model = dir.resolve("sd21");
        SyntheticModels.write(Family.SD21, Scale.TINY, DType.FP32, 0, TokenizerKind.BPE, model);
        assertThatThrownBy(() -> new DenoiseBenchmark(model, 8).run(List.of(Device.CPU), 2,
                List.of(BenchConfig.parse("n2s1")), 1, line -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("n2s1 needs 2 devices");
    }
}
