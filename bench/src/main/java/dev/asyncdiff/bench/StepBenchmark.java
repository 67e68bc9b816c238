package dev.asyncdiff.bench;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH: the time per guided denoising step of a synthetic SD 2.1 UNet (tiny by default) under a
 * strategy configuration, measured over loops of {@value #STEPS} steps (the first of which is the
 * sequential warm-up step of the asynchronous configurations). Run with
 * {@code java -cp "bench/target/classes:$(cat bench/target/classpath.txt)" org.openjdk.jmh.Main StepBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class StepBenchmark {
    /** Steps per measured loop. */
    public static final int STEPS = 10;

    @Param({"sequential", "sequential-t2", "n2s1"})
    public String config;

    @Param({"tiny"})
    public String scale;

    private Path folder;
    private DenoiseBenchmark.Prepared prepared;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        folder = Files.createTempDirectory("asyncdiff-jmh");
        SyntheticModels.write(Family.SD21, Scale.parse(scale), DType.FP32, 0, TokenizerKind.BPE, folder.resolve("sd21"));
        BenchConfig parsed = BenchConfig.parse(config);
        List<Device> devices = List.of(Device.CPU, Device.cpu(1), Device.cpu(2));
        prepared = new DenoiseBenchmark(folder.resolve("sd21")).prepare(parsed, devices.subList(0, parsed.devices()));
    }

    @Benchmark
    @OperationsPerInvocation(STEPS)
    public void step() {
        prepared.denoise(STEPS);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        prepared.close();
        try (var paths = Files.walk(folder)) {
            paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
        }
    }
}
