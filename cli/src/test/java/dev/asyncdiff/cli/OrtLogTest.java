package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A size the synthetic UNet cannot run fails inside ONNX Runtime; its native log used to print raw lines with
 * terminal colour codes before our one-line error. Started as a process, since the native log goes straight to
 * the process's stderr.
 */
class OrtLogTest {
    @TempDir
    Path dir;

    @Test
    void aNativeFailurePrintsOurErrorWithoutOnnxRuntimesRawLog() throws Exception {
        Path sd15 = SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, 3, TokenizerKind.BPE,
                dir.resolve("sd15")).directory();
        JavaProcess cli = JavaProcess.startCli(dir.resolve("cache"), dir.resolve("output.txt"), "generate", "--model",
                sd15.toString(), "--prompt", "x", "--steps", "1", "--width", "72", "--height", "72", "--out",
                dir.resolve("odd.png").toString());
        int exit = cli.exitCode(180);
        String output = cli.output();
        assertThat(exit).as(output).isEqualTo(ExitCodes.FAILURE);
        assertThat(output).contains("asyncdiff: error: ").doesNotContain("\u001b[").doesNotContain(":onnxruntime:");
    }
}
