package dev.asyncdiff.communicator.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.CancellationToken;
import dev.asyncdiff.api.ComponentFile;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.DenoiseRequest;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.ParallelStrategy;
import dev.asyncdiff.api.ProgressListener;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.backend.onnx.OnnxBackendProvider;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.split.GraphSplitter;
import dev.asyncdiff.samplers.Samplers;
import dev.asyncdiff.scheduler.async.AsyncStrategyProvider;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.CommunicatorProvider;
import dev.asyncdiff.spi.DenoiserSource;
import dev.asyncdiff.spi.StrategyContext;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.FamilyPreset;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SchedulerConfigs;
import dev.asyncdiff.synthetic.UNetConfig;
import dev.asyncdiff.synthetic.UNetGraph;
import dev.asyncdiff.synthetic.Weights;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Worker JVMs on 127.0.0.1 joined to rank 0 (this JVM) over gRPC: the final latents equal the in-process
 * run bit for bit, and a rank that dies, never joins, runs another model or is cancelled fails the
 * generation loudly, in bounded time.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class GrpcWorldTest {
    private static final int LATENT = 8;
    private static final int STEPS = 6;
    @TempDir
    static Path dir;
    private static UNetConfig config;
    private static Path unet;
    private static GraphSplitter splitter;
    private static String schedulerJson;
    private static Backend backend;
    private final List<Process> workers = new ArrayList<>();
    private String master;

    @BeforeAll
    static void writeModel() throws Exception {
        config = FamilyPreset.of(Family.SD15, Scale.TINY).unet();
        unet = dir.resolve("unet/model.onnx");
        UNetGraph.build(config, new Weights(3), DType.FP32).write(unet, ExternalDataPolicy.AUTO);
        splitter = new GraphSplitter(dir.resolve("splits"));
        schedulerJson = new ObjectMapper().writeValueAsString(SchedulerConfigs.of(Family.SD15));
        List<Device> devices = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            devices.add(Device.cpu(i));
        }
        backend = new OnnxBackendProvider().open(new BackendOptions(devices, Map.of("intraOpThreads", "1")));
    }

    @AfterAll
    static void closeBackend() {
        backend.close();
    }

    @AfterEach
    void stopWorld() throws InterruptedException {
        if (master != null) {
            GrpcCommunicatorProvider.shutdown(master);
        }
        for (Process worker : workers) {
            if (!worker.waitFor(20, TimeUnit.SECONDS)) {
                worker.destroyForcibly();
                throw new AssertionError("a worker did not exit within 20 s of the end of its session");
            }
        }
    }

    @ParameterizedTest(name = "n{0}s{1}, {2} guidance group(s)")
    @CsvSource({"2, 1, 1", "2, 2, 1", "3, 1, 1", "2, 1, 2", "2, 2, 2"})
    void workerProcessesGiveTheInProcessLatentsBitForBit(int n, int stride, int groups) throws Exception {
        AsyncConfig async = new AsyncConfig(n, stride, 1, false);
        float[] expected = inProcess(async);
        CommunicatorProvider grpc = world(groups * async.devicesRequired(), Map.of());
        try (ParallelStrategy strategy = strategy(async, groups, grpc)) {
            float[] first = denoise(strategy, CancellationToken.none(), ProgressListener.NONE);
            float[] second = denoise(strategy, CancellationToken.none(), ProgressListener.NONE);
            assertThat(first).containsExactly(expected);
            assertThat(second).as("a second generation on the same ranks").containsExactly(expected);
        }
    }

    @Test
    void aRankKilledMidRunFailsTheGenerationNamingIt() throws Exception {
        AsyncConfig async = new AsyncConfig(2, 1, 1, false);
        CommunicatorProvider grpc = world(2, Map.of());
        try (ParallelStrategy strategy = strategy(async, 1, grpc)) {
            Process victim = workers.get(0);
            ProgressListener killAtStep2 = progress -> {
                if (progress.step() == 2) {
                    victim.destroyForcibly();
                }
            };
            long start = System.nanoTime();
            assertThatThrownBy(() -> denoise(strategy, CancellationToken.none(), killAtStep2))
                    .hasMessageContaining("rank 1 (127.0.0.1:").hasMessageContaining("at step");
            assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start)).isLessThan(60);
        }
        workers.clear();
    }

    @Test
    void aHungRankFailsTheStepWithinTheStepTimeout() throws Exception {
        AsyncConfig async = new AsyncConfig(2, 1, 1, false);
        CommunicatorProvider grpc = world(2, Map.of("ASYNCDIFF_STEP_TIMEOUT", "3"));
        try (ParallelStrategy strategy = strategy(async, 1, grpc)) {
            Process victim = workers.get(0);
            ProgressListener stopAtStep2 = progress -> {
                if (progress.step() == 2) {
                    signal("STOP", victim);
                }
            };
            long start = System.nanoTime();
            assertThatThrownBy(() -> denoise(strategy, CancellationToken.none(), stopAtStep2))
                    .hasMessageContaining("rank 1 (127.0.0.1:").hasMessageContaining("within 3 s");
            assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start)).isLessThan(30);
            signal("CONT", victim);
        }
    }

    private static void signal(String signal, Process process) {
        try {
            new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start().waitFor();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aRankThatNeverJoinsFailsTheRendezvousNamingIt() throws Exception {
        int port = freePort();
        master = "127.0.0.1:" + port;
        startWorker(1, 3, port, "cpu:1", null);
        CommunicatorProvider grpc = new GrpcCommunicatorProvider(env(0, 3, port, Map.of("ASYNCDIFF_JOIN_TIMEOUT", "3")));
        assertThatThrownBy(() -> strategy(new AsyncConfig(3, 1, 1, false), 1, grpc))
                .hasMessageContaining("rank(s) [2] did not join the master at 127.0.0.1:" + port);
        workers.forEach(Process::destroyForcibly);
        workers.clear();
        master = null;
    }

    @Test
    void aRankStartedForAnotherModelIsRefusedWhenRankZeroLoads() throws Exception {
        int port = freePort();
        master = "127.0.0.1:" + port;
        startWorker(1, 2, port, "cpu:1", "0".repeat(64));
        CommunicatorProvider grpc = new GrpcCommunicatorProvider(env(0, 2, port, Map.of()));
        assertThatThrownBy(() -> strategy(new AsyncConfig(2, 1, 1, false), 1, grpc))
                .hasMessageContaining("rank 1 (127.0.0.1:").hasMessageContaining("started for the model test-model")
                .hasMessageContaining(splitter.modelHash(unet).substring(0, 16));
    }

    @Test
    void aCancelledGenerationStopsEveryRankAndTheNextOneRuns() throws Exception {
        AsyncConfig async = new AsyncConfig(2, 1, 1, false);
        float[] expected = inProcess(async);
        CommunicatorProvider grpc = world(2, Map.of());
        try (ParallelStrategy strategy = strategy(async, 1, grpc)) {
            CancellationToken token = new CancellationToken();
            ProgressListener cancelAtStep3 = progress -> {
                if (progress.step() == 3) {
                    token.cancel();
                }
            };
            assertThatThrownBy(() -> denoise(strategy, token, cancelAtStep3))
                    .isInstanceOf(java.util.concurrent.CancellationException.class);
            assertThat(denoise(strategy, CancellationToken.none(), ProgressListener.NONE)).containsExactly(expected);
        }
    }

    private static float[] inProcess(AsyncConfig async) {
        try (ParallelStrategy strategy = strategy(async, 1, null)) {
            return denoise(strategy, CancellationToken.none(), ProgressListener.NONE);
        }
    }

    /** Starts {@code size - 1} worker JVMs and returns rank 0's provider for that world. */
    private CommunicatorProvider world(int size, Map<String, String> extra) throws IOException {
        int port = freePort();
        master = "127.0.0.1:" + port;
        for (int rank = 1; rank < size; rank++) {
            startWorker(rank, size, port, "cpu:" + rank, null);
        }
        return new GrpcCommunicatorProvider(env(0, size, port, extra));
    }

    private void startWorker(int rank, int size, int port, String device, String modelHash) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-cp", System.getProperty("java.class.path"), TestWorker.class.getName(), device,
                dir.resolve("store-" + rank).toString()));
        if (modelHash != null) {
            command.add(modelHash);
        }
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("worker-" + port + "-" + rank + ".log").toFile());
        builder.environment().putAll(env(rank, size, port, Map.of()));
        workers.add(builder.start());
    }

    private static Map<String, String> env(int rank, int size, int port, Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(Map.of("RANK", Integer.toString(rank), "WORLD_SIZE",
                Integer.toString(size), "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", Integer.toString(port),
                "ASYNCDIFF_JOIN_TIMEOUT", "60", "ASYNCDIFF_STEP_TIMEOUT", "60"));
        env.putAll(extra);
        return env;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** Async on {@code groups} guidance groups (2: CFG-parallel) of {@code async.devicesRequired()} ranks each. */
    private static ParallelStrategy strategy(AsyncConfig async, int groups, CommunicatorProvider communicator) {
        List<Device> devices = new ArrayList<>();
        for (int i = 0; i < groups * async.devicesRequired(); i++) {
            devices.add(Device.cpu(i));
        }
        DenoiserSource source = new DenoiserSource() {
            @Override
            public List<ComponentFile> components(int parts) {
                return splitter.components(unet, parts, LATENT, LATENT);
            }

            @Override
            public String modelHash() {
                return splitter.modelHash(unet);
            }
        };
        return new AsyncStrategyProvider().create(new StrategyContext(async, source, backend, devices, groups,
                communicator));
    }

    /** Final latents of {@link #STEPS} steps from seeded noise with classifier-free guidance 5. */
    private static float[] denoise(ParallelStrategy strategy, CancellationToken cancellation, ProgressListener progress) {
        NoiseScheduler scheduler = Samplers.fromConfig(schedulerJson);
        scheduler.setTimesteps(STEPS);
        SplittableRandom random = new SplittableRandom(7);
        float[] noise = new float[config.inChannels() * LATENT * LATENT];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = (float) (random.nextGaussian() * scheduler.initNoiseSigma());
        }
        float[] text = new float[2 * config.sequenceLength() * config.crossAttentionDim()];
        for (int i = 0; i < text.length; i++) {
            text[i] = (float) random.nextGaussian();
        }
        try (Tensor latents = Tensor.ofFloats(noise, 1, config.inChannels(), LATENT, LATENT);
             Tensor context = Tensor.ofFloats(text, 2, config.sequenceLength(), config.crossAttentionDim());
             Tensor result = strategy.denoise(new DenoiseRequest(scheduler, latents,
                     Map.of("encoder_hidden_states", context), 5.0, new SplittableRandom(7), progress, cancellation))) {
            return result.toFloatArray();
        }
    }
}
