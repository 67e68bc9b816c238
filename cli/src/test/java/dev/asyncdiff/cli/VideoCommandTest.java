package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.adapters.video.ClipWriter;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code asyncdiff video}: clips from both families in every output format and strategy, and its usage errors. */
class VideoCommandTest {
    @TempDir
    static Path shared;
    private static Path svd;
    private static Path animateDiff;
    private static Path still;

    @TempDir
    Path dir;

    @BeforeAll
    static void writeModels() throws Exception {
        svd = SyntheticModels.write(Family.SVD, Scale.TINY, DType.FP32, 3, TokenizerKind.BPE, shared.resolve("svd"))
                .directory();
        animateDiff = SyntheticModels.write(Family.ANIMATEDIFF, Scale.TINY, DType.FP32, 3, TokenizerKind.BPE,
                shared.resolve("animatediff")).directory();
        BufferedImage image = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                image.setRGB(x, y, (x * 4 << 16) | (y * 4 << 8) | 128);
            }
        }
        still = shared.resolve("still.png");
        ImageIO.write(image, "png", still.toFile());
    }

    private static CliRun video(String... args) {
        return CliRun.of(Stream.concat(Stream.of("video", "--steps", "3", "--seed", "4"), Stream.of(args))
                .toArray(String[]::new));
    }

    @Test
    void svdMakesAnMp4FromAStillSplitOverTwoDevices() {
        Path out = dir.resolve("clip.mp4");
        CliRun run = video("--model", svd.toString(), "--image", still.toString(), "--frames", "4", "--fps", "6",
                "--decode-chunk", "2", "--devices", "cpu:0,cpu:1", "--model-n", "2", "--out", out.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("wrote " + out.toAbsolutePath(), "svd clip of 4 frames 64x64 at 6.0 fps",
                "model_n 2");
        assertThat(run.err()).contains("decoded 2/4 frames", "decoded 4/4 frames");
        List<BufferedImage> frames = ClipWriter.read(out);
        assertThat(frames).hasSize(4);
    }

    @Test
    void animateDiffMakesAGifAndPngFrames() throws Exception {
        Path gif = dir.resolve("clip.gif");
        CliRun run = video("--model", animateDiff.toString(), "--prompt", "a boat", "--frames", "3", "--width", "64",
                "--height", "64", "--out", gif.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(ClipWriter.read(gif)).hasSize(3);
        Path frames = dir.resolve("frames");
        CliRun png = video("--model", animateDiff.toString(), "--prompt", "a boat", "--frames", "3", "--width", "64",
                "--height", "64", "--devices", "cpu:0,cpu:1,cpu:2", "--model-n", "2", "--stride", "2",
                "--out", frames.toString());
        assertThat(png.exitCode()).as(png.err()).isZero();
        try (Stream<Path> files = Files.list(frames)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted())
                    .containsExactly("frame_00000.png", "frame_00001.png", "frame_00002.png");
        }
    }

    @Test
    void splitBindsTheFrameAxisFromTheFolder() {
        CliRun run = CliRun.of("split", "--model", svd.toString(), "--parts", "2", "--width", "64", "--height", "64",
                "--frames", "5", "--out", dir.resolve("parts").toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("2 component(s)", "sample", "[1*,5,8,8*,8*]");
    }

    @Test
    void usageErrorsNameWhatIsWrong() {
        CliRun nothing = video("--model", animateDiff.toString());
        assertThat(nothing.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(nothing.err()).contains("--image FILE", "--prompt TEXT");
        CliRun avi = video("--model", animateDiff.toString(), "--prompt", "x", "--out", dir.resolve("x.avi").toString());
        assertThat(avi.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(avi.err()).contains(".avi", ".mp4, .gif");
        CliRun wrongFamily = video("--model", animateDiff.toString(), "--image", still.toString(),
                "--out", dir.resolve("x.gif").toString());
        assertThat(wrongFamily.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(wrongFamily.err()).contains("animatediff", "text-to-video", "not image-to-video");
        CliRun tooLong = video("--model", animateDiff.toString(), "--prompt", "x", "--frames", "40",
                "--width", "64", "--height", "64", "--out", dir.resolve("long.gif").toString());
        assertThat(tooLong.exitCode()).isEqualTo(ExitCodes.FAILURE);
        assertThat(tooLong.err()).contains("40 frames", "at most 32");
        assertThat(dir.resolve("long.gif")).doesNotExist();
        CliRun oddMp4 = video("--model", svd.toString(), "--image", still.toString(), "--frames", "2", "--width", "64",
                "--height", "64", "--out", dir.resolve("x.mp4").toString(), "--fps", "-1");
        assertThat(oddMp4.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(oddMp4.err()).contains("fps");
    }
}
