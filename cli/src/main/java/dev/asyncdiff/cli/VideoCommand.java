package dev.asyncdiff.cli;

import dev.asyncdiff.adapters.video.ClipFormat;
import dev.asyncdiff.adapters.video.ClipWriter;
import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.CancellationToken;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.Images;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.api.VideoOptions;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.RuntimeConfig;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ThreadLocalRandom;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code asyncdiff video}: a clip from a still image (Stable Video Diffusion) or a prompt (AnimateDiff), sequentially
 * or with AsyncDiff across devices, written as MP4, animated GIF or numbered PNG frames. Progress per step and per
 * decoded chunk goes to stderr; Ctrl-C cancels cleanly and leaves no file behind.
 */
@Command(name = "video",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Makes a clip from a still image (--image, Stable Video Diffusion) or a prompt (--prompt, AnimateDiff),",
            "sequentially or with AsyncDiff across devices, written as .mp4, .gif or a folder of PNG frames.",
            "Without --model a synthetic tiny SVD (with --image) or AnimateDiff with random weights makes a smoke run."
        })
final class VideoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    RuntimeOptions runtime;

    @Mixin
    DenoiserOptions denoising;

    @Option(names = "--model", paramLabel = "DIR",
            description = "An exported SVD or AnimateDiff folder (model_index.json, unet/, vae_decoder/, …). Default: "
                    + "a synthetic tiny one written once into the cache.")
    Path model;

    @Option(names = "--image", paramLabel = "FILE", description = "The still image an SVD clip starts from.")
    Path image;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "What an AnimateDiff clip shows.")
    String prompt;

    @Option(names = "--negative-prompt", paramLabel = "TEXT", defaultValue = "",
            description = "AnimateDiff: what to steer away from (default: none).")
    String negativePrompt;

    @Option(names = "--frames", paramLabel = "N", defaultValue = "0",
            description = "Frames in the clip (default: the model's, 25 for SVD-xt, 16 for AnimateDiff).")
    int frames;

    @Option(names = "--fps", paramLabel = "N", defaultValue = "" + VideoOptions.DEFAULT_FPS,
            description = "Frames per second of the clip; SVD is also conditioned on it (default: ${DEFAULT-VALUE}).")
    double fps;

    @Option(names = "--motion-bucket", paramLabel = "N", defaultValue = "" + VideoOptions.DEFAULT_MOTION_BUCKET,
            description = "SVD: how much motion (default: ${DEFAULT-VALUE}).")
    int motionBucket;

    @Option(names = "--noise-aug", paramLabel = "S", defaultValue = "" + VideoOptions.DEFAULT_NOISE_AUG,
            description = "SVD: noise added to the still before it conditions the clip (default: ${DEFAULT-VALUE}).")
    double noiseAug;

    @Option(names = "--min-guidance", paramLabel = "S", defaultValue = "1.0",
            description = "SVD: guidance of the first frame, ramped to --guidance at the last (default: ${DEFAULT-VALUE}).")
    double minGuidance;

    @Option(names = "--guidance", paramLabel = "S",
            description = "Guidance scale; SVD's maximum, at the last frame (default: 3.0 for SVD, 7.5 for AnimateDiff).")
    Double guidance;

    @Option(names = "--decode-chunk", paramLabel = "N", defaultValue = "0",
            description = "Frames the VAE decodes at once; smaller bounds memory (default: the whole clip).")
    int decodeChunk;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "25", description = "Denoising steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the noise (default: random, printed).")
    Long seed;

    @Option(names = "--width", paramLabel = "PIXELS",
            description = "Frame width (default: the still's, or the model's; 64 for the synthetic default).")
    Integer width;

    @Option(names = "--height", paramLabel = "PIXELS",
            description = "Frame height (default: the still's, or the model's; 64 for the synthetic default).")
    Integer height;

    @Option(names = "--scheduler", paramLabel = "NAME",
            description = "Sampler name or diffusers class (default: the model's scheduler_config.json).")
    String scheduler;

    @Option(names = "--out", paramLabel = "clip.mp4|clip.gif|DIR", defaultValue = "clip.mp4",
            description = "The clip: an H.264 .mp4, an animated .gif, or a folder of numbered PNG frames "
                    + "(default: ${DEFAULT-VALUE}).")
    Path out;

    @Override
    public Integer call() {
        validateFlags();
        RuntimeConfig config = runtime.toConfig();
        AsyncDiffRuntime providers = AsyncDiffRuntime.create(config, runtime.providerLoader(System.getenv()));
        Engine engine = denoising.engine(providers, scheduler);
        AsyncConfig asyncConfig = denoising.asyncConfig(config);
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        BufferedImage still = image == null ? null : Images.read(image);
        boolean syntheticDefault = model == null;
        Path modelDir = syntheticDefault
                ? CachedModels.ensure(still != null ? Family.SVD : Family.ANIMATEDIFF, Scale.TINY, err) : model;
        long firstSeed = seed != null ? seed : ThreadLocalRandom.current().nextLong(0, 1L << 32);
        CancellationToken cancellation = new CancellationToken();
        ProgressBar progress = new ProgressBar(err, System.console() != null);
        VideoOptions options = new VideoOptions(frames, fps, motionBucket, noiseAug, minGuidance, decodeChunk);
        int defaultSide = syntheticDefault && still == null ? 64 : 0;
        GenerationRequest.Builder request = GenerationRequest.builder(prompt == null ? "" : prompt)
                .negativePrompt(negativePrompt).steps(steps).seed(firstSeed)
                .size(width != null ? width : defaultSide, height != null ? height : defaultSide)
                .scheduler(scheduler).listener(progress).cancellation(cancellation);
        if (guidance != null) {
            request.guidanceScale(guidance);
        }
        if (still != null) {
            request.imageToVideo(still, options);
        } else {
            request.textToVideo(options);
        }
        GenerationRequest generation = request.build();
        try (CancelOnInterrupt interrupt = new CancelOnInterrupt(cancellation);
             DiffusionPipeline pipeline = engine.open(modelDir)) {
            if (!pipeline.requestKinds().contains(generation.kind())) {
                throw usage("--model " + modelDir + " is a " + pipeline.family() + " model, which serves "
                        + pipeline.requestKinds().stream().map(RequestKind::id).sorted().toList() + ", not "
                        + generation.kind().id() + (generation.kind() == RequestKind.IMAGE_TO_VIDEO
                        ? " (AnimateDiff takes --prompt, not --image)" : " (SVD takes --image)"));
            }
            pipeline.setCfgParallel(denoising.cfgParallel);
            pipeline.setAsyncConfig(asyncConfig);
            GenerationResult result = pipeline.generate(generation);
            progress.closeBar();
            List<BufferedImage> clip = result.clips().get(0);
            Path written = ClipWriter.write(clip, result.fps(), out);
            stdout.println("wrote " + written);
            stdout.println(String.format(Locale.ROOT, "%s clip of %d frames %dx%d at %s fps, seed %d, %d steps, %s: %s",
                    pipeline.family(), clip.size(), clip.get(0).getWidth(), clip.get(0).getHeight(), result.fps(),
                    result.seed(), result.steps(), denoising.placement(asyncConfig, config, pipeline.strategyName()),
                    result.timings().summary()));
            stdout.flush();
            return ExitCodes.OK;
        } catch (CancellationException e) {
            progress.closeBar();
            err.println("asyncdiff: generation cancelled; nothing written");
            err.flush();
            return GenerateCommand.CANCELLED;
        }
    }

    private void validateFlags() {
        if (image == null && (prompt == null || prompt.isBlank())) {
            throw usage("a clip needs a still image (--image FILE, Stable Video Diffusion) or a prompt (--prompt TEXT, "
                    + "AnimateDiff)");
        }
        try {
            ClipFormat.of(out);
        } catch (IllegalArgumentException e) {
            throw usage("--out " + out + ": " + e.getMessage());
        }
        try {
            new VideoOptions(frames, fps, motionBucket, noiseAug, minGuidance, decodeChunk);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        if (steps < 1) {
            throw usage("--steps must be >= 1, was " + steps);
        }
        if (guidance != null && !(guidance >= 0 && Double.isFinite(guidance))) {
            throw usage("--guidance must be a finite number >= 0, was " + guidance);
        }
        for (Integer size : new Integer[] {width, height}) {
            if (size != null && size <= 0) {
                throw usage("--width and --height must be positive, got " + width + "x" + height);
            }
        }
        denoising.validate();
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
