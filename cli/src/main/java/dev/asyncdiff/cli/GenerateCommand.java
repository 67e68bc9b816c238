package dev.asyncdiff.cli;

import dev.asyncdiff.adapters.sd.GenerationRequest;
import dev.asyncdiff.adapters.sd.GenerationResult;
import dev.asyncdiff.adapters.sd.Images;
import dev.asyncdiff.adapters.sd.StableDiffusionPipeline;
import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.CancellationToken;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.RuntimeConfig;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code asyncdiff generate}: text-to-image or image-to-image with a Stable Diffusion 1.x, 2.x or
 * XL folder, sequentially or with AsyncDiff across devices. Progress goes to stderr, the written
 * files and a summary with the time per phase to stdout; each PNG carries the generation
 * parameters in a {@code parameters} text chunk. Ctrl-C cancels the generation cleanly.
 */
@Command(name = "generate",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Generates images from a prompt (and optionally an init image) with an SD 1.x, 2.x or XL folder.",
            "The denoiser runs sequentially or with AsyncDiff across devices.",
            "Without --model a synthetic tiny SD 2.1 with random weights makes a smoke run."
        })
final class GenerateCommand implements Callable<Integer> {
    /** Exit code after Ctrl-C or another cancellation. */
    static final int CANCELLED = 130;
    private static final long SHUTDOWN_WAIT_SECONDS = 30;

    @Spec
    CommandSpec spec;

    @Mixin
    RuntimeOptions runtime;

    @Option(names = "--model", paramLabel = "DIR",
            description = "Exported model folder (model_index.json, unet/, vae_decoder/, …). Default: a synthetic "
                    + "tiny SD 2.1 written once into the cache ($ASYNCDIFF_CACHE_DIR/models or ~/.cache/asyncdiff/models).")
    Path model;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "What to draw.")
    String prompt;

    @Option(names = "--negative-prompt", paramLabel = "TEXT", defaultValue = "",
            description = "What to steer away from (default: none).")
    String negativePrompt;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "25",
            description = "Denoising steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--guidance", paramLabel = "SCALE",
            description = "Classifier-free guidance scale; <= 1 turns guidance off (default: 7.5, SDXL 5.0).")
    Double guidance;

    @Option(names = "--seed", paramLabel = "N",
            description = "Seed of the first image; image i uses seed + i (default: random, printed).")
    Long seed;

    @Option(names = "--width", paramLabel = "PIXELS",
            description = "Image width, a multiple of 8 (default: the model's, or the init image's; 256 for the "
                    + "synthetic default model).")
    Integer width;

    @Option(names = "--height", paramLabel = "PIXELS",
            description = "Image height, a multiple of 8 (default: the model's, or the init image's; 256 for the "
                    + "synthetic default model).")
    Integer height;

    @Option(names = "--num-images", paramLabel = "N", defaultValue = "1",
            description = "Images per prompt, made as one batch (default: ${DEFAULT-VALUE}).")
    int numImages;

    @Option(names = "--scheduler", paramLabel = "NAME",
            description = "Sampler: ddim, pndm, euler, euler_a, lms, heun, dpmpp_2m, dpmpp_2m_karras, unipc, … "
                    + "or a diffusers class name (default: the model's scheduler_config.json).")
    String scheduler;

    @Option(names = "--image", paramLabel = "FILE", description = "Init image for image-to-image (PNG, JPEG, …).")
    Path image;

    @Option(names = "--strength", paramLabel = "S", defaultValue = "0.8",
            description = "Image-to-image strength in [0, 1]: how much of the init image is replaced "
                    + "(default: ${DEFAULT-VALUE}).")
    double strength;

    @Option(names = "--out", paramLabel = "FILE.png", defaultValue = "out.png",
            description = "Output PNG; with several images out-0.png, out-1.png, … (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--strategy", paramLabel = "sequential|async",
            description = "How the denoiser runs (default: async when --model-n > 1 or --stride 2, else sequential).")
    String strategy;

    @Option(names = "--model-n", paramLabel = "N",
            description = "AsyncDiff: components the denoiser is split into (default with async: the devices, "
                    + "minus one for stride 2).")
    Integer modelN;

    @Option(names = "--stride", paramLabel = "1|2", defaultValue = "1",
            description = "AsyncDiff stride; 2 needs model-n + 1 devices (default: ${DEFAULT-VALUE}).")
    int stride;

    @Option(names = "--warm-up", paramLabel = "N", defaultValue = "1",
            description = "AsyncDiff: sequential warm-up steps before parallel ones (default: ${DEFAULT-VALUE}).")
    int warmUp;

    @Option(names = "--time-shift", description = "AsyncDiff: parallel components take the previous step's timestep.")
    boolean timeShift;

    @Option(names = "--cfg-parallel", description = "Run the unconditional and conditional halves of guidance on two "
            + "device groups (the first and second half of --devices), each with the chosen strategy; same images.")
    boolean cfgParallel;

    @Override
    public Integer call() {
        validateFlags();
        RuntimeConfig config = runtime.toConfig();
        AsyncConfig asyncConfig = asyncConfig(config);
        BufferedImage initImage = image == null ? null : Images.read(image);
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path modelDir = model;
        if (modelDir == null) {
            modelDir = CachedModels.ensure(Family.SD21, Scale.TINY, err);
        }
        long firstSeed = seed != null ? seed : ThreadLocalRandom.current().nextLong(0, 1L << 32);
        CancellationToken cancellation = new CancellationToken();
        ProgressBar progress = new ProgressBar(err, System.console() != null);
        GenerationRequest.Builder request = GenerationRequest.builder(prompt).negativePrompt(negativePrompt)
                .steps(steps).seed(firstSeed)
                .size(width == null ? 0 : width, height == null ? 0 : height)
                .numImages(numImages).scheduler(scheduler).listener(progress).cancellation(cancellation);
        if (guidance != null) {
            request.guidanceScale(guidance);
        }
        if (initImage != null) {
            request.initImage(initImage, strength);
        }
        GenerationRequest generation = request.build();
        CountDownLatch finished = new CountDownLatch(1);
        Thread onInterrupt = new Thread(() -> {
            cancellation.cancel();
            try {
                finished.await(SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "asyncdiff-cancel");
        Runtime.getRuntime().addShutdownHook(onInterrupt);
        try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.builder(modelDir)
                .runtime(AsyncDiffRuntime.create(config)).splitCache(CachedModels.cacheRoot().resolve("splits"))
                .open()) {
            pipeline.setCfgParallel(cfgParallel);
            pipeline.setAsyncConfig(asyncConfig);
            GenerationResult result = pipeline.generate(generation);
            progress.closeBar();
            List<Path> files = outputFiles(out, result.images().size());
            for (int i = 0; i < files.size(); i++) {
                Images.writePng(result.images().get(i), files.get(i), Map.of("parameters", result.parameters().get(i)));
                stdout.println("wrote " + files.get(i).toAbsolutePath());
            }
            BufferedImage first = result.images().get(0);
            double denoiseSeconds = result.timings().denoising().toNanos() / 1e9;
            stdout.println(String.format(Locale.ROOT, "%s %d image(s) %dx%d, seed %d, %d steps, %s%s: %s%s",
                    pipeline.family(), files.size(), first.getWidth(), first.getHeight(), result.seed(), result.steps(),
                    pipeline.strategyName(), pipeline.strategyName().equals("async")
                            ? String.format(Locale.ROOT, " (model_n %d, stride %d, warm-up %d%s, %s)",
                                    asyncConfig.modelN(), asyncConfig.stride(), asyncConfig.warmUp(),
                                    asyncConfig.timeShift() ? ", time shift" : "", config.devices())
                            : " on " + (cfgParallel ? config.devices().subList(0, 2) : config.devices().get(0)),
                    result.timings().summary(),
                    result.steps() > 0 && denoiseSeconds > 0
                            ? String.format(Locale.ROOT, " (%.2f it/s)", result.steps() / denoiseSeconds) : ""));
            stdout.flush();
            return ExitCodes.OK;
        } catch (CancellationException e) {
            progress.closeBar();
            err.println("asyncdiff: generation cancelled; nothing written");
            err.flush();
            return CANCELLED;
        } finally {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(onInterrupt);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is exiting (Ctrl-C): the hook runs and returns now that we are done
            }
        }
    }

    private void validateFlags() {
        if (steps < 1) {
            throw usage("--steps must be >= 1, was " + steps);
        }
        if (numImages < 1) {
            throw usage("--num-images must be >= 1, was " + numImages);
        }
        for (Integer size : new Integer[] {width, height}) {
            if (size != null && (size <= 0 || size % 8 != 0)) {
                throw usage("--width and --height must be positive multiples of 8, got "
                        + (width == null ? "default" : width) + "x" + (height == null ? "default" : height));
            }
        }
        if (!(strength >= 0 && strength <= 1)) {
            throw usage("--strength must be in [0, 1], was " + strength);
        }
        if (guidance != null && !(guidance >= 0 && Double.isFinite(guidance))) {
            throw usage("--guidance must be a finite number >= 0, was " + guidance);
        }
        if (strategy != null && !strategy.equals("sequential") && !strategy.equals("async")) {
            throw usage("--strategy must be sequential or async, was '" + strategy + "'");
        }
        if (stride != 1 && stride != 2) {
            throw usage("--stride must be 1 or 2, was " + stride);
        }
        if (warmUp < 1) {
            throw usage("--warm-up must be >= 1, was " + warmUp);
        }
        if (modelN != null && modelN < 1) {
            throw usage("--model-n must be >= 1, was " + modelN);
        }
    }

    /** The AsyncDiff settings the flags ask for. */
    private AsyncConfig asyncConfig(RuntimeConfig config) {
        boolean async = strategy != null ? strategy.equals("async") : (modelN != null && modelN > 1) || stride == 2;
        if (cfgParallel && config.devices().size() < 2) {
            throw usage("--cfg-parallel runs the guidance halves on two device groups; it needs at least 2 devices, got "
                    + config.devices() + " (e.g. --devices cpu:0,cpu:1)");
        }
        if (!async) {
            if (modelN != null && modelN > 1 || stride == 2) {
                throw usage("--model-n and --stride 2 split the denoiser; they need --strategy async");
            }
            return AsyncConfig.SEQUENTIAL;
        }
        int devices = config.devices().size() / (cfgParallel ? 2 : 1);
        int parts = modelN != null ? modelN : stride == 2 ? devices - 1 : devices;
        if (parts < 2 && stride == 1) {
            throw usage("--strategy async splits the denoiser over at least 2 devices; got " + config.devices()
                    + " (e.g. --devices cpu:0,cpu:1)");
        }
        AsyncConfig wanted = new AsyncConfig(Math.max(parts, 1), stride, warmUp, timeShift);
        if (wanted.devicesRequired() > devices) {
            throw usage("--model-n " + wanted.modelN() + " with --stride " + stride + " needs "
                    + wanted.devicesRequired() + " devices" + (cfgParallel ? " per CFG-parallel group" : "") + ", got "
                    + devices + " " + config.devices());
        }
        return wanted;
    }

    /** {@code out} itself for one image, else {@code out-0.png}, {@code out-1.png}, …. */
    static List<Path> outputFiles(Path out, int count) {
        if (count == 1) {
            return List.of(out);
        }
        String name = out.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        String extension = dot > 0 ? name.substring(dot) : ".png";
        List<Path> files = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            files.add(out.resolveSibling(stem + "-" + i + extension));
        }
        return files;
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
