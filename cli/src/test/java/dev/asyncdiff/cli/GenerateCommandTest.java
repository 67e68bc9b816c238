package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Images;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code asyncdiff generate} on synthetic tiny folders, with the cache pointed at a temporary folder. */
class GenerateCommandTest {
    @TempDir
    static Path shared;
    private static Path sd15;
    private static String previousCache;

    @TempDir
    Path dir;

    @BeforeAll
    static void writeModelAndPointTheCacheAway() {
        previousCache = System.getProperty(CachedModels.CACHE_PROPERTY);
        System.setProperty(CachedModels.CACHE_PROPERTY, shared.resolve("cache").toString());
        sd15 = SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 3, TokenizerKind.BPE,
                shared.resolve("sd15")).directory();
    }

    @AfterAll
    static void restoreCache() {
        if (previousCache == null) {
            System.clearProperty(CachedModels.CACHE_PROPERTY);
        } else {
            System.setProperty(CachedModels.CACHE_PROPERTY, previousCache);
        }
    }

    @Test
    void withoutModelWritesTheSyntheticDefaultOnceAndMakesAPng() {
        Path out = dir.resolve("out.png");
        CliRun run = CliRun.of("generate", "--prompt", "a lighthouse at dawn", "--steps", "2", "--width", "64",
                "--height", "64", "--seed", "42", "--out", out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.err()).contains("random weights").contains("smoke run").contains("denoising");
        assertThat(run.out()).contains("wrote " + out.toAbsolutePath()).contains("sd21 1 image(s) 64x64, seed 42")
                .contains("denoise ").contains("decode ").contains("total ");
        BufferedImage image = Images.read(out);
        assertThat(image.getWidth()).isEqualTo(64);
        assertThat(Images.readPngText(out, "parameters")).startsWith("a lighthouse at dawn\n")
                .contains("Steps: 2").contains("Seed: 42").contains("Size: 64x64").contains("Family: sd21");
        assertThat(shared.resolve("cache/models/sd21-tiny/model_index.json")).isRegularFile();

        CliRun again = CliRun.of("generate", "--prompt", "a lighthouse at dawn", "--steps", "2", "--width", "64",
                "--height", "64", "--seed", "42", "--out", dir.resolve("again.png").toString());
        assertThat(again.exitCode()).isZero();
        assertThat(again.err()).doesNotContain("writing the synthetic");
        assertThat(pixels(Images.read(dir.resolve("again.png")))).containsExactly(pixels(image));
    }

    @Test
    void asyncOnTwoDevicesWritesOneFilePerImage() {
        Path out = dir.resolve("boat.png");
        CliRun run = CliRun.of("generate", "--model", sd15.toString(), "--prompt", "a red boat", "--steps", "3",
                "--width", "64", "--height", "64", "--num-images", "2", "--devices", "cpu:0,cpu:1", "--strategy",
                "async", "--model-n", "2", "--warm-up", "1", "--negative-prompt", "fog", "--scheduler", "euler_a",
                "--out", out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(dir.resolve("boat-0.png")).isRegularFile();
        assertThat(dir.resolve("boat-1.png")).isRegularFile();
        assertThat(out).doesNotExist();
        assertThat(run.out()).contains("sd15 2 image(s) 64x64").contains("async (model_n 2, stride 1, warm-up 1")
                .contains("[cpu:0, cpu:1]");
        assertThat(Images.readPngText(dir.resolve("boat-1.png"), "parameters"))
                .contains("Negative prompt: fog").contains("Sampler: euler_a").contains("Strategy: async");
    }

    @Test
    void cfgParallelMakesTheSameImageAsGuidanceInOneBatch() throws IOException {
        Path batched = dir.resolve("batched.png");
        Path parallel = dir.resolve("parallel.png");
        // Same seed and devices for both (every session gets the same intra-op threads, one per CPU device).
        CliRun one = CliRun.of("generate", "--model", sd15.toString(), "--prompt", "a red boat", "--steps", "3",
                "--width", "64", "--height", "64", "--seed", "5", "--devices", "cpu:0,cpu:1", "--out", batched.toString());
        CliRun two = CliRun.of("generate", "--model", sd15.toString(), "--prompt", "a red boat", "--steps", "3",
                "--width", "64", "--height", "64", "--seed", "5", "--devices", "cpu:0,cpu:1", "--cfg-parallel", "--out",
                parallel.toString());
        assertThat(one.exitCode()).as(one.err()).isZero();
        assertThat(two.exitCode()).as(two.err()).isZero();
        java.awt.image.BufferedImage a = javax.imageio.ImageIO.read(batched.toFile());
        java.awt.image.BufferedImage b = javax.imageio.ImageIO.read(parallel.toFile());
        assertThat(b.getRGB(0, 0, 64, 64, null, 0, 64)).containsExactly(a.getRGB(0, 0, 64, 64, null, 0, 64));
        assertThat(Images.readPngText(parallel, "parameters")).contains("Strategy: sequential, CFG-parallel");
        assertUsage(CliRun.of("generate", "--model", sd15.toString(), "--prompt", "x", "--cfg-parallel"),
                "--cfg-parallel runs the guidance halves on two device groups");
    }

    @Test
    void partsPlacedOnAnotherBackendRunThereAndMakeTheSameImage() throws IOException {
        Path plain = dir.resolve("plain.png");
        Path placed = dir.resolve("placed.png");
        CliRun one = CliRun.of("generate", "--model", sd15.toString(), "--prompt", "a red boat", "--steps", "3",
                "--width", "64", "--height", "64", "--seed", "5", "--devices", "cpu:0,cpu:1", "--strategy", "async",
                "--out", plain.toString());
        CliTestProviders.RecordingOnnxBackend.LOADED.clear();
        CliRun two = CliRun.of("generate", "--model", sd15.toString(), "--prompt", "a red boat", "--steps", "3",
                "--width", "64", "--height", "64", "--seed", "5", "--devices", "cpu:0,cpu:1", "--strategy", "async",
                "--backend-for", "components.1=onnx-recording", "--backend-for", "textEncoder=onnx-recording",
                "--out", placed.toString());
        assertThat(one.exitCode()).as(one.err()).isZero();
        assertThat(two.exitCode()).as(two.err()).isZero();
        assertThat(CliTestProviders.RecordingOnnxBackend.LOADED).extracting(p -> p.getParent().getFileName() + "/"
                + p.getFileName()).anyMatch(name -> name.endsWith("/component-1.onnx"))
                .anyMatch(name -> name.startsWith("text_encoder/"))
                .noneMatch(name -> name.endsWith("/component-0.onnx"))
                .noneMatch(name -> name.startsWith("vae"));
        java.awt.image.BufferedImage a = javax.imageio.ImageIO.read(plain.toFile());
        java.awt.image.BufferedImage b = javax.imageio.ImageIO.read(placed.toFile());
        assertThat(b.getRGB(0, 0, 64, 64, null, 0, 64)).containsExactly(a.getRGB(0, 0, 64, 64, null, 0, 64));

        Path config = Files.writeString(dir.resolve("placed.yaml"),
                "devices: [cpu:0, cpu:1]\nplacement: {vae.backend: onnx-recording}\n");
        CliTestProviders.RecordingOnnxBackend.LOADED.clear();
        CliRun fromFile = CliRun.of("generate", "--model", sd15.toString(), "--prompt", "x", "--steps", "2",
                "--width", "64", "--height", "64", "--config", config.toString(), "--out", dir.resolve("v.png").toString());
        assertThat(fromFile.exitCode()).as(fromFile.err()).isZero();
        assertThat(CliTestProviders.RecordingOnnxBackend.LOADED).isNotEmpty()
                .allMatch(p -> p.getParent().getFileName().toString().startsWith("vae"));
        CliRun unknown = CliRun.of("generate", "--model", sd15.toString(), "--prompt", "x", "--backend-for",
                "vae=nope");
        assertThat(unknown.exitCode()).isNotZero();
        assertThat(unknown.err()).contains("'nope'").contains("onnx-recording");
    }

    @Test
    void devicesCanComeFromAConfigFile() throws IOException {
        Path config = Files.writeString(dir.resolve("asyncdiff.json"),
                "{\"backend\": \"onnx\", \"devices\": [\"cpu:0\", \"cpu:1\"], "
                        + "\"backendOptions\": {\"onnx\": {\"intraOpThreads\": 1}}}");
        CliRun run = CliRun.of("generate", "--model", sd15.toString(), "--prompt", "x", "--steps", "2", "--width",
                "64", "--height", "64", "--config", config.toString(), "--strategy", "async", "--out",
                dir.resolve("c.png").toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("async (model_n 2, stride 1, warm-up 1, [cpu:0, cpu:1])");
        CliRun unknown = CliRun.of("generate", "--model", sd15.toString(), "--prompt", "x", "--backend", "nope");
        assertThat(unknown.exitCode()).isNotZero();
        assertThat(unknown.errLines()).hasSize(1);
        assertThat(unknown.err()).contains("'nope'").contains("onnx");
    }

    @Test
    void imageToImageFromAFile() {
        Path input = dir.resolve("in.png");
        BufferedImage picture = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        picture.setRGB(10, 10, 0xFF0000);
        Images.writePng(picture, input, java.util.Map.of());
        Path out = dir.resolve("img2img.png");
        CliRun run = CliRun.of("generate", "--model", sd15.toString(), "--prompt", "x", "--image", input.toString(),
                "--strength", "0.5", "--steps", "4", "--seed", "1", "--scheduler", "ddim", "--out", out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("64x64").contains("2 steps").contains("image ");
        assertThat(Images.readPngText(out, "parameters")).contains("Denoising strength: 0.5");
    }

    @Test
    void inpaintingWithAMaskOnAnInpaintingModelInSequentialAndAsync() {
        Path inpaint = SyntheticModels.write(Family.SDXL_INPAINT, Scale.TINY, DType.FP32, 3, TokenizerKind.BPE,
                shared.resolve("sdxl-inpaint")).directory();
        Path input = dir.resolve("photo.png");
        Path maskFile = dir.resolve("mask.png");
        BufferedImage picture = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        BufferedImage mask = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                picture.setRGB(x, y, (x * 4) << 16 | (y * 4) << 8);
                mask.setRGB(x, y, x < 32 ? 0xFFFFFF : 0);
            }
        }
        Images.writePng(picture, input, java.util.Map.of());
        Images.writePng(mask, maskFile, java.util.Map.of());
        Path out = dir.resolve("inpainted.png");
        CliRun run = CliRun.of("generate", "--model", inpaint.toString(), "--prompt", "a cat", "--image",
                input.toString(), "--mask", maskFile.toString(), "--strength", "1", "--steps", "3", "--seed", "2",
                "--devices", "cpu:0,cpu:1", "--model-n", "2", "--out", out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("64x64").contains("async (model_n 2");
        assertThat(Images.readPngText(out, "parameters")).contains("Inpainting: masked").contains("Family: sdxl");
        assertUsage(CliRun.of("generate", "--model", inpaint.toString(), "--prompt", "x", "--mask",
                maskFile.toString()), "--mask needs --image");
        CliRun noMask = CliRun.of("generate", "--model", inpaint.toString(), "--prompt", "x", "--steps", "2",
                "--out", dir.resolve("nomask.png").toString());
        assertThat(noMask.exitCode()).isNotZero();
        assertThat(noMask.err()).contains("serves [inpainting]").contains("--mask");
        assertThat(dir.resolve("nomask.png")).doesNotExist();
    }

    @Test
    void upscaleMakesAnImageFourTimesLargerInTiles() {
        Path x4 = SyntheticModels.write(Family.X4_UPSCALER, Scale.TINY, DType.FP32, 3, TokenizerKind.BPE,
                shared.resolve("x4")).directory();
        Path input = dir.resolve("small.png");
        BufferedImage picture = new BufferedImage(48, 48, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 48; y++) {
            for (int x = 0; x < 48; x++) {
                picture.setRGB(x, y, (x * 5) << 16 | (y * 5) << 8 | 90);
            }
        }
        Images.writePng(picture, input, java.util.Map.of());
        Path out = dir.resolve("large.png");
        CliRun run = CliRun.of("upscale", "--model", x4.toString(), "--prompt", "a white cat", "--image",
                input.toString(), "--steps", "3", "--seed", "4", "--noise-level", "30", "--tile-size", "32",
                "--devices", "cpu:0,cpu:1", "--model-n", "2", "--out", out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("x4-upscaler 1 image(s) 192x192").contains("async (model_n 2");
        BufferedImage large = Images.read(out);
        assertThat(large.getWidth()).isEqualTo(192);
        assertThat(Images.readPngText(out, "parameters")).contains("Noise level: 30").contains("Tiles: 4");
        assertUsage(CliRun.of("upscale", "--model", x4.toString(), "--prompt", "x"), "--image");
        assertUsage(CliRun.of("upscale", "--model", sd15.toString(), "--prompt", "x", "--image", input.toString(),
                "--steps", "2"), "not an x4 upscaler");
        CliRun tooNoisy = CliRun.of("upscale", "--model", x4.toString(), "--prompt", "x", "--image", input.toString(),
                "--noise-level", "400", "--out", dir.resolve("noisy.png").toString());
        assertThat(tooNoisy.exitCode()).isNotZero();
        assertThat(tooNoisy.err()).contains("max_noise_level 350");
        assertThat(dir.resolve("noisy.png")).doesNotExist();
    }

    @Test
    void stableDiffusion3FoldersGenerateThroughTheSameCommand() {
        Path sd3 = SyntheticModels.write(Family.SD3, Scale.TINY, DType.FP32, 3, TokenizerKind.BPE,
                shared.resolve("sd3")).directory();
        Path sequential = dir.resolve("sd3.png");
        Path async = dir.resolve("sd3-async.png");
        CliRun one = CliRun.of("generate", "--model", sd3.toString(), "--prompt", "a red house", "--steps", "3",
                "--seed", "9", "--width", "64", "--height", "64", "--out", sequential.toString());
        CliRun two = CliRun.of("generate", "--model", sd3.toString(), "--prompt", "a red house", "--steps", "3",
                "--seed", "9", "--width", "64", "--height", "64", "--devices", "cpu:0,cpu:1", "--model-n", "2",
                "--warm-up", "3", "--out", async.toString());

        assertThat(one.exitCode()).as(one.err()).isZero();
        assertThat(one.out()).contains("sd3 1 image(s) 64x64, seed 9, 3 steps, sequential");
        assertThat(Images.readPngText(sequential, "parameters")).contains("Family: sd3")
                .contains("Sampler: FlowMatchEulerDiscreteScheduler");
        assertThat(two.exitCode()).as(two.err()).isZero();
        assertThat(two.out()).contains("async (model_n 2, stride 1, warm-up 3");
        // warm-up over every step runs the components in order: the whole transformer's image up to rounding
        int[] chained = pixels(Images.read(async));
        int[] whole = pixels(Images.read(sequential));
        int largest = 0;
        for (int i = 0; i < whole.length; i++) {
            for (int shift = 0; shift < 24; shift += 8) {
                largest = Math.max(largest, Math.abs((chained[i] >> shift & 0xFF) - (whole[i] >> shift & 0xFF)));
            }
        }
        assertThat(largest).as("largest channel difference of 255").isLessThanOrEqualTo(1);
    }

    @Test
    void badFlagsAreOneLineUsageErrors() {
        assertUsage(CliRun.of("generate", "--prompt", "x", "--stepz", "3"), "--stepz");
        assertUsage(CliRun.of("generate", "--model", sd15.toString(), "--prompt", "x", "--width", "100"),
                "multiples of 8");
        assertUsage(CliRun.of("generate", "--model", sd15.toString(), "--prompt", "x", "--strategy", "fast"),
                "unknown strategy 'fast'; known strategies: async, sequential");
        assertUsage(CliRun.of("generate", "--model", sd15.toString(), "--prompt", "x", "--strategy", "async"),
                "at least 2 devices");
        assertUsage(CliRun.of("generate", "--model", sd15.toString(), "--prompt", "x", "--model-n", "3",
                "--devices", "cpu:0,cpu:1"), "needs 3 devices");
        assertUsage(CliRun.of("generate", "--model", sd15.toString(), "--prompt", "x", "--strength", "2"),
                "--strength");
        assertUsage(CliRun.of("generate", "--model", sd15.toString()), "--prompt");
    }

    @Test
    void missingFilesAndNonImagesAreOneLineErrors() throws IOException {
        CliRun noModel = CliRun.of("generate", "--model", dir.resolve("absent").toString(), "--prompt", "x");
        assertFailure(noModel, "absent");
        Path notImage = Files.writeString(dir.resolve("photo.png"), "this is text");
        assertFailure(CliRun.of("generate", "--model", sd15.toString(), "--prompt", "x", "--image",
                notImage.toString()), "is not an image");
        assertFailure(CliRun.of("generate", "--model", sd15.toString(), "--prompt", "x", "--image",
                dir.resolve("none.png").toString()), "does not exist");
        Path notModel = Files.createDirectories(dir.resolve("empty"));
        assertFailure(CliRun.of("generate", "--model", notModel.toString(), "--prompt", "x"), "model_index.json");
        assertThat(dir.resolve("out.png")).doesNotExist();
    }

    @Test
    void outputNamesForSeveralImages() {
        assertThat(GenerateCommand.outputFiles(Path.of("a/out.png"), 1)).containsExactly(Path.of("a/out.png"));
        assertThat(GenerateCommand.outputFiles(Path.of("a/out.png"), 2))
                .containsExactly(Path.of("a/out-0.png"), Path.of("a/out-1.png"));
        assertThat(GenerateCommand.outputFiles(Path.of("pic"), 2)).isEqualTo(List.of(Path.of("pic-0.png"),
                Path.of("pic-1.png")));
    }

    private static void assertUsage(CliRun run, String fragment) {
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).startsWith("asyncdiff: error: ").contains(fragment);
    }

    private static void assertFailure(CliRun run, String fragment) {
        assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCodes.FAILURE);
        assertThat(run.errLines()).hasSize(1);
        assertThat(run.err()).startsWith("asyncdiff: error: ").contains(fragment);
    }

    private static int[] pixels(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }
}
