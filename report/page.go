package report

// pageHTML is the report page. It has no script and loads nothing: styles are inline and every
// image is a data URI.
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vgfq report</title>
<style>
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #222; max-width: 1400px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin-top: 20px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; font-size: 13px; max-width: 1000px; }
.ok { color: #1a7f37; font-weight: bold; }
.bad { color: #c62828; font-weight: bold; }
table.grid td { border: none; padding: 3px; text-align: center; font-size: 12px; }
table.grid th { background: none; border: none; font-size: 12px; }
img.px { image-rendering: pixelated; display: block; margin: 0 auto; }
div.fv { position: relative; display: inline-block; }
div.frame { position: absolute; box-sizing: border-box; border: 2px solid #00e5ff; pointer-events: none; }
.scroll { overflow-x: auto; border: 1px solid #eee; padding: 4px; }
code { font-size: 12px; }
</style>
</head>
<body>
<h1>vgfq report</h1>
<p class="note">Test images: {{.Opt.DataName}}. Every INT8 row executes the exported file itself (the integer
graph run bit-exactly by vgfq's TOSA executor, inputs quantized and outputs dequantized with the
model's IO contract); the FP32 row runs the float graph.</p>
<table>
<tr><th>run directory</th><th>kind</th><th>stage</th><th>input (w x h)</th></tr>
{{range .RunViews}}<tr><td><code>{{.Dir}}</code></td><td>{{.Kind}}{{if .Method}} ({{.Method}}){{end}}</td><td>{{.Label}}</td><td>{{.InputHW}}</td></tr>
{{end}}</table>

<h2 id="summary">Summary</h2>
<table id="summary-table">
<tr><th>stage</th><th>file executed</th><th>PSNR dB (RGB)</th><th>SSIM (RGB)</th><th>Y-PSNR dB</th><th>Y-SSIM</th>{{if .FP32}}<th>PSNR vs FP32</th>{{end}}<th>size</th><th>weights</th><th>operators</th><th>check</th></tr>
{{$fp := .FP32}}{{range .Rows}}<tr>
<td><b>{{.Stage}}</b></td><td>{{if .Artifact}}<code>{{.Artifact}}</code>{{else}}–{{end}}</td>
<td class="num">{{f3 .Scores.PSNR}}</td><td class="num">{{f4 .Scores.SSIM}}</td>
<td class="num">{{f3 .Scores.PSNRY}}</td><td class="num">{{f4 .Scores.SSIMY}}</td>
{{if $fp}}<td class="num">{{delta .Scores.PSNR $fp.Scores.PSNR}}</td>{{end}}
<td class="num">{{if .Size}}{{size .Size}}{{else}}–{{end}}</td><td>{{if .Params}}{{.Params}}{{else}}–{{end}}</td><td>{{.Ops}}</td>
<td>{{if .Checked}}{{if eq .Mismatch 0}}<span class="ok">bit-identical to {{.SameAs}} on all {{.Scores.Images}} images</span>{{else}}<span class="bad">differs from {{.SameAs}} on {{.Mismatch}} of {{.Scores.Images}} images</span>{{end}}{{end}}{{if .Note}} {{.Note}}{{end}}</td>
</tr>
{{end}}</table>
<p class="note">{{with index .Rows 0}}{{.Scores.Images}} test images in {{.Scores.Batches}} batch(es).{{end}}
RGB PSNR is the tutorial's metric: 10·log10(1/MSE) of each batch (up to 64 images; one image per batch for whole
images), averaged over batches. SSIM is skimage's Gaussian SSIM (σ 1.5, 11x11), averaged per image.
Y-PSNR and Y-SSIM are computed on the ITU-R BT.601 luma Y = 16 + 65.481·R + 128.553·G + 24.966·B (R, G, B in [0, 1]; peak 255)
with {{/* scale */}}2 border pixels shaved, averaged per image, as super-resolution papers report them.
Model outputs are scored as floats, without clamping or rounding to 8 bits. Size is the file on disk (FP32: graph.json and weights).</p>

<h2 id="images">Images</h2>
<p class="note">Per test image: the whole image (or its centre when larger than {{256}} pixels), below it the detail crop with the
most edges (framed region, enlarged) and the error heat map |output − ground truth| (mean over R, G, B) on this scale:</p>
<img id="colorbar" src="{{.Colorbar}}" alt="error scale" width="360" height="44">
{{$labels := .Labels}}
{{range $i, $g := .Grid}}
<h3>{{$g.Name}} ({{$g.W}}x{{$g.H}}{{if or (ne $g.View.W $g.W) (ne $g.View.H $g.H)}}, centre {{$g.View.W}}x{{$g.View.H}} shown{{end}}; detail at x={{$g.Detail.X}}, y={{$g.Detail.Y}}, {{$g.Detail.W}}x{{$g.Detail.H}})</h3>
<div class="scroll"><table class="grid">
<tr>{{range $labels}}<th>{{.}}</th>{{end}}</tr>
<tr>{{range $g.Cells}}<td><div class="fv"><img class="px" src="{{.Full}}" alt="{{.Label}}" style="width:{{disp $g.View.W}}px"><div class="frame" style="left:{{$g.Frame.X}}px;top:{{$g.Frame.Y}}px;width:{{$g.Frame.W}}px;height:{{$g.Frame.H}}px"></div></div></td>{{end}}</tr>
<tr>{{range $g.Cells}}<td>{{.Caption}}</td>{{end}}</tr>
<tr>{{range $g.Cells}}<td><img class="px" src="{{.Zoom}}" alt="{{.Label}} detail" style="width:160px"></td>{{end}}</tr>
<tr>{{range $g.Cells}}<td>{{if .Heat}}<img class="px" src="{{.Heat}}" alt="{{.Label}} error" style="width:{{disp $g.View.W}}px"><br>max {{f3 .WorstError}}{{end}}</td>{{end}}</tr>
</table></div>
{{end}}

<h2 id="layers">Per-layer error</h2>
<p class="note">For every quantized tensor (from the run's layers.json, written by ptq/qat): the SQNR of the fake-quant value
and of the INT8 value, read from the integer TOSA graph's own intermediate tensors, against the float model; and the share of
float values outside the int8 range (clipped). The layer where the bars drop is the one that loses quality.</p>
{{range .RunViews}}{{if .Ladder}}<div class="scroll"><img class="chart" src="{{.Ladder}}" alt="{{.Label}} per-layer error"></div>
<table><tr><th>node</th><th>op</th><th>TOSA tensor</th><th>scale</th><th>zero point</th><th>fake-quant SQNR dB</th><th>INT8 SQNR dB</th><th>INT8 vs fake-quant (max steps)</th><th>clipped</th></tr>
{{range .Layers}}<tr><td>{{.Node}}</td><td>{{.Op}}</td><td><code>{{.Tensor}}</code></td><td class="num">{{g .Scale}}</td><td class="num">{{.ZP}}</td><td class="num">{{f2 .FakeQuantSQNR}}</td><td class="num">{{f2 .Int8SQNR}}</td><td class="num">{{printf "%.0f" .Int8VsFakeQuantMax}}</td><td class="num">{{printf "%.3f%%" (mul100 .Clipped)}}</td></tr>
{{end}}</table>{{else if eq .Kind "int8"}}<p class="note">{{.Label}}: no layers.json in {{.Dir}}.</p>{{end}}{{end}}

<h2 id="graph">TOSA graph</h2>
{{range .RunViews}}{{if eq .Kind "int8"}}<h3>{{.Label}}: <code>{{.Dir}}</code></h3>
{{if .Graph}}<p class="note">Operators with their output shapes and types, scales and zero points (quant.json), RESCALE multipliers and shifts, constants folded into their consumer, RESCALE (yellow) and TRANSPOSE (red) marked with the float node they came from (what <code>vgfq inspect --svg</code> draws).</p>
<div class="scroll"><img class="chart" src="{{.Graph}}" alt="{{.Label}} TOSA graph"></div>{{else}}<p class="bad">{{.GraphErr}}</p>{{end}}
{{end}}{{end}}

<h2 id="contract">IO contract</h2>
{{range .RunViews}}{{if eq .Kind "int8"}}<h3>{{.Label}}</h3>
{{with .Contract}}<p class="note">From <code>io.json</code>: an application feeds <code>{{.Quantize}}</code> and reads <code>{{.Dequantize}}</code>. Entry point <code>{{.EntryPoint}}</code> of <code>{{.Model}}</code>.</p>
<table><tr><th></th><th>name</th><th>set / binding</th><th>shape</th><th>layout</th><th>type</th><th>VkFormat</th><th>scale</th><th>zero point</th><th>float range</th><th>from node</th></tr>
{{range .Inputs}}<tr><td>input</td><td><code>{{.Name}}</code></td><td>{{.DescriptorSet}} / {{.Binding}}</td><td>{{.Shape}}</td><td>{{.Layout}}</td><td>{{.ElementType}}</td><td>{{.VkFormat}}</td><td class="num">{{g .Scale}}</td><td class="num">{{.ZeroPoint}}</td><td>[{{g (index .FloatRange 0)}}, {{g (index .FloatRange 1)}}]</td><td>{{.Source}}</td></tr>
{{end}}{{range .Outputs}}<tr><td>output</td><td><code>{{.Name}}</code></td><td>{{.DescriptorSet}} / {{.Binding}}</td><td>{{.Shape}}</td><td>{{.Layout}}</td><td>{{.ElementType}}</td><td>{{.VkFormat}}</td><td class="num">{{g .Scale}}</td><td class="num">{{.ZeroPoint}}</td><td>[{{g (index .FloatRange 0)}}, {{g (index .FloatRange 1)}}]</td><td>{{.Source}}</td></tr>
{{end}}</table>{{else}}<p class="note">No io.json in {{.Dir}}; the qparams come from quant.json: input scale {{g (index .IO 0).Scale}} zero point {{(index .IO 0).ZP}}, output scale {{g (index .IO 1).Scale}} zero point {{(index .IO 1).ZP}}.</p>{{end}}
{{if .Quant}}<p class="note">quant.json: {{range .Quant}}<code>{{index . 0}}</code> = {{index . 1}}; {{end}}</p>{{end}}
{{end}}{{end}}

<h2 id="files">Files</h2>
{{range .RunViews}}<h3>{{.Label}}: <code>{{.Dir}}</code></h3>
<table><tr><th>file</th><th>size</th></tr>{{range .FileList}}<tr><td><code>{{index . 0}}</code></td><td class="num">{{index . 1}}</td></tr>{{end}}</table>
{{end}}
<p class="note">Written by vgfq report. The page is self-contained: no script, no external resources.</p>
</body>
</html>
`
