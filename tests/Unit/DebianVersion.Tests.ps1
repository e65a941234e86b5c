# Debian version ordering (Test-ContainerImage's OutdatedPackage rule): the cases of dpkg's own test suite
# (lib/dpkg/t/t-version.c, verrevcmp semantics) and the Debian Policy 5.6.12 examples.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'Containers.Engine.dll')
    function Cmp([string] $A, [string] $B) { [Containers.Engine.Audit.DebianVersion]::Compare($A, $B) }
}

Describe 'DebianVersion.Compare' {
    It '<A> <Op> <B>' -ForEach @(
        # equal, including a missing epoch or revision against 0
        @{ A = '1.0'; Op = '='; B = '1.0' }
        @{ A = '0:1.0'; Op = '='; B = '1.0' }
        @{ A = '1.0-0'; Op = '='; B = '1.0' }
        @{ A = '1.0-1'; Op = '='; B = '0:1.0-1' }
        @{ A = '1.001'; Op = '='; B = '1.1' }
        @{ A = '00'; Op = '='; B = '0' }
        # epochs win over everything
        @{ A = '1:0.1'; Op = '>'; B = '9.9' }
        @{ A = '2:1.0'; Op = '>'; B = '1:9.0' }
        @{ A = '1:1.0-1'; Op = '<'; B = '2:0.1-1' }
        # digits compare as numbers
        @{ A = '1.10'; Op = '>'; B = '1.9' }
        @{ A = '1.0.10'; Op = '>'; B = '1.0.9' }
        @{ A = '10'; Op = '>'; B = '9' }
        # tilde sorts before everything, even the end
        @{ A = '1.0~rc1'; Op = '<'; B = '1.0' }
        @{ A = '1.0~rc1'; Op = '<'; B = '1.0~rc2' }
        @{ A = '1.0~~'; Op = '<'; B = '1.0~~a' }
        @{ A = '1.0~~a'; Op = '<'; B = '1.0~' }
        @{ A = '1.0~'; Op = '<'; B = '1.0' }
        @{ A = '1.0-1~bpo1'; Op = '<'; B = '1.0-1' }
        # the end before letters, letters before other characters
        @{ A = '1.0'; Op = '<'; B = '1.0a' }
        @{ A = '1.0a'; Op = '<'; B = '1.0b' }
        @{ A = '1.0z'; Op = '<'; B = '1.0+' }
        @{ A = '1.0'; Op = '<'; B = '1.0+b1' }
        @{ A = '1.0+dfsg'; Op = '<'; B = '1.0.1' }
        @{ A = '1.0a'; Op = '<'; B = '1.0.' }
        @{ A = 'a'; Op = '<'; B = 'b' }
        @{ A = 'B'; Op = '<'; B = 'a' }
        # a letter against a digit: the non-digit run "" (end) against "a"
        @{ A = '1a'; Op = '>'; B = '1' }
        @{ A = '1.a'; Op = '>'; B = '1.1' }
        # revisions
        @{ A = '1.0-1'; Op = '<'; B = '1.0-2' }
        @{ A = '1.0-10'; Op = '>'; B = '1.0-9' }
        @{ A = '1.0-1+deb12u1'; Op = '>'; B = '1.0-1' }
        @{ A = '1.0-1+deb12u2'; Op = '>'; B = '1.0-1+deb12u1' }
        @{ A = '1.0-1+deb12u10'; Op = '>'; B = '1.0-1+deb12u9' }
        # a hyphen in the upstream version: the revision is after the last one
        @{ A = '1.0-rc-1'; Op = '>'; B = '1.0-rc-0' }
        @{ A = '1:9.2p1-2+deb12u7'; Op = '>'; B = '1:9.2p1-2+deb12u3' }
        @{ A = '2.36-9+deb12u13'; Op = '>'; B = '2.36-9+deb12u4' }
        @{ A = '12.4+deb12u12'; Op = '>'; B = '0.1' }
    ) {
        $c = Cmp $A $B
        $r = Cmp $B $A
        switch ($Op) {
            '=' { $c | Should -Be 0; $r | Should -Be 0 }
            '<' { $c | Should -Be -1; $r | Should -Be 1 }
            '>' { $c | Should -Be 1; $r | Should -Be -1 }
        }
    }

    It 'splits epoch, upstream and revision' {
        $s = [Containers.Engine.Audit.DebianVersion]::Split('1:2.3-4-5')
        $s.Item1 | Should -Be 1
        $s.Item2 | Should -Be '2.3-4'
        $s.Item3 | Should -Be '5'
        $s = [Containers.Engine.Audit.DebianVersion]::Split('2.3')
        $s.Item1 | Should -Be 0
        $s.Item3 | Should -Be ''
    }

    It 'orders a list as dpkg does' {
        $sorted = [System.Collections.Generic.List[string]]@('1.0', '1.0~rc1', '1:0.5', '1.0-1', '1.0+b1', '1.0a', '0.9', '1.0~~')
        $sorted.Sort([Comparison[string]] { param($x, $y) Cmp $x $y })
        @($sorted) | Should -Be @('0.9', '1.0~~', '1.0~rc1', '1.0', '1.0-1', '1.0a', '1.0+b1', '1:0.5')
    }
}
